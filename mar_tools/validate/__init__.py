"""``mar validate``: check model archives offline, statically, without extracting them.

Library entry points: :func:`validate_paths` (a :class:`~mar_tools.report.Report` for
several paths) and :func:`validate_archive` (one path). Nothing here prints, exits or
imports click/rich; nothing imports or runs the archive's code.
"""

from mar_tools.validate.catalog import CATALOG, CODES
from mar_tools.validate.options import Limits, ValidateOptions
from mar_tools.validate.pipeline import validate_archive, validate_paths

__all__ = ["CATALOG", "CODES", "Limits", "ValidateOptions", "validate_archive", "validate_paths"]
