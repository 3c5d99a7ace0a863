"""GitHub Actions workflow commands (``--format github``): one annotation per finding.

``::error file=…,line=…,col=…,title=…::message``. A finding inside a zip or tar.gz annotates
the archive file and names the member in the message; one in a model directory annotates
the member's own file and line. Values are escaped as the runner requires.
"""

from __future__ import annotations

from mar_tools.report.finding import Finding, Severity
from mar_tools.report.result import ArchiveResult, Report
from mar_tools.report.text import render_lines

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render_github(report: Report) -> str:
    """One workflow command per finding, then the plain summary line."""
    lines = [_command(archive, item) for archive in report.results for item in archive.findings]
    summary = render_lines(report)[-1]
    lines.append("".join(segment.text for segment in summary))
    return "\n".join(lines) + "\n"


def _command(archive: ArchiveResult, item: Finding) -> str:
    loc = item.location
    in_directory = archive.root is not None and loc.member is not None
    properties = [f"file={_property(archive.member_file(loc.member))}"]
    if in_directory and loc.line is not None:
        properties.append(f"line={loc.line}")
        if loc.column is not None:
            properties.append(f"col={loc.column}")
    properties.append(f"title={_property(item.code)}")
    where = loc.describe()
    message = item.message if in_directory or not where else f"{where}: {item.message}"
    if item.hint:
        message += f"\nhint: {item.hint}"
    return f"::{COMMANDS[item.severity]} {','.join(properties)}::{_data(message)}"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
