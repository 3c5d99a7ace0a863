"""The human-readable report: one block per archive, worst findings first, with hints.

The renderer produces styled segments, not colours: the command line maps each
:data:`Style` to a colour (or to nothing when output is plain), so the text is the same
either way and can be tested as plain text.
"""

from __future__ import annotations

from typing import Literal

from mar_tools.core.record import record
from mar_tools.report.finding import Finding, Severity
from mar_tools.report.result import ArchiveResult, Report

Style = Literal["plain", "path", "error", "warning", "info", "code", "hint", "valid", "invalid"]


@record
class Segment:
    """A piece of text with a style."""

    text: str
    style: Style = "plain"


Line = tuple[Segment, ...]
SEVERITY_STYLE: dict[Severity, Style] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
}


def render_lines(report: Report) -> list[Line]:
    """The whole report as lines of styled segments (no trailing newlines)."""
    lines: list[Line] = []
    for result in report.results:
        lines.extend(_archive(result, report.strict))
        lines.append(())
    lines.append(_summary(report))
    return lines


def render_text(report: Report) -> str:
    """The report as plain text, ending with a newline."""
    return "".join("".join(s.text for s in line) + "\n" for line in render_lines(report))


def _archive(result: ArchiveResult, strict: bool) -> list[Line]:
    failed = result.failed(strict)
    header: list[Segment] = [Segment(result.path, "path")]
    if result.format:
        header.append(Segment(f" ({result.format})"))
    header.append(Segment(": "))
    header.append(Segment("invalid" if failed else "valid", "invalid" if failed else "valid"))
    counts = _counts(result.count(Severity.ERROR), result.count(Severity.WARNING),
                     result.count(Severity.INFO))  # fmt: skip
    if counts:
        header.append(Segment(f" ({counts})"))
    lines: list[Line] = [tuple(header)]
    hinted: set[str] = set()
    for item in result.findings:
        lines.append(_finding(item))
        if item.hint and item.code not in hinted:
            hinted.add(item.code)
            lines.append((Segment("    hint: ", "hint"), Segment(item.hint, "hint")))
    return lines


def _finding(item: Finding) -> Line:
    where = item.location.describe()
    return (
        Segment("  "),
        Segment(item.severity.value, SEVERITY_STYLE[item.severity]),
        Segment("["),
        Segment(item.code, "code"),
        Segment("] "),
        Segment(f"{where}: " if where else ""),
        Segment(item.message),
    )


def _summary(report: Report) -> Line:
    total, invalid = len(report.results), report.invalid
    counts = _counts(report.total(Severity.ERROR), report.total(Severity.WARNING),
                     report.total(Severity.INFO))  # fmt: skip
    text = (
        f"{total} archive{'s' if total != 1 else ''} checked: {total - invalid} valid, "
        f"{invalid} invalid"
    )
    if counts:
        text += f" ({counts})"
    style: Style = "invalid" if invalid else "valid"
    suffix = " (--strict: warnings fail)" if report.strict else ""
    return (Segment(text + ".", style), Segment(suffix))


def _counts(errors: int, warnings: int, infos: int) -> str:
    parts = []
    for count, word in ((errors, "error"), (warnings, "warning"), (infos, "note")):
        if count:
            parts.append(f"{count} {word}{'s' if count != 1 else ''}")
    return ", ".join(parts)
