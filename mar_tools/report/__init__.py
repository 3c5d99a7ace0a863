"""Findings and reports of ``mar validate``, and the renderers that print them.

Renderers (:mod:`.text`, :mod:`.json_report`, :mod:`.sarif`, :mod:`.junit`,
:mod:`.github`) turn a :class:`Report` into text; they never print.
"""

from mar_tools.report.finding import CheckInfo, Finding, Location, Severity
from mar_tools.report.result import ArchiveResult, Report

__all__ = ["ArchiveResult", "CheckInfo", "Finding", "Location", "Report", "Severity"]
