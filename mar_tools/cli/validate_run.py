"""What ``mar validate`` does once its command line is parsed, without click.

Both ways in call :func:`run_validate`: the click command (:mod:`.validate`) and the
hand parser of the common command lines (:mod:`.validate_argv`, issue 15's start-up), so
that the two print the same bytes and exit with the same code.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mar_tools.core.errors import ExitCode, UsageError
from mar_tools.core.limits import Limits
from mar_tools.core.record import record
from mar_tools.terminal import settings
from mar_tools.terminal.plain_output import echo

if TYPE_CHECKING:
    from mar_tools.report.result import Report

FORMATS = ("text", "json", "sarif", "junit", "github")
#: From this size a full check tunes the allocator (:mod:`mar_tools.core.allocator`): below
#: it there are few MiB-sized blocks to reuse, and loading ``ctypes`` would cost start-up.
LARGE_ARCHIVE = 64 << 20
STYLES = {
    "path": "bold",
    "error": "bold red",
    "warning": "yellow",
    "info": "cyan",
    "code": "bold",
    "hint": "dim",
    "valid": "bold green",
    "invalid": "bold red",
}


@record
class ValidateRequest:
    """``mar validate``'s parsed command line (the output options are in :mod:`settings`)."""

    paths: tuple[Path, ...]
    limits: Limits
    output_format: str = "text"
    output: Path | None = None
    strict: bool = False
    quick: bool = False
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    changed_files: bool = False
    list_checks: bool = False


def run_validate(request: ValidateRequest) -> int:
    """Check the request's archives and print the report; the exit code (0 when every
    archive is valid, 1 when not). Raises :class:`UsageError` for a bad ``--select``,
    ``--ignore`` or ``--output``."""
    from mar_tools.validate import CATALOG, ValidateOptions, validate_paths

    if request.list_checks:
        for info in CATALOG:
            echo(f"{info.code:32} {info.severity.value:8} {info.title}")
        return int(ExitCode.OK)
    paths = request.paths
    if request.changed_files:
        from mar_tools.validate.changed import archives_of_changed

        paths = tuple(archives_of_changed(paths))
    known = [info.code for info in CATALOG]
    if request.output is not None:
        from mar_tools.cli.output_file import check_output

        check_output(request.output, paths)
    options = ValidateOptions(
        quick=request.quick,
        limits=request.limits,
        select=_codes(request.select, "--select", known),
        ignore=_codes(request.ignore, "--ignore", known),
    )
    if not request.quick and any(_streamed_size(path) >= LARGE_ARCHIVE for path in paths):
        from mar_tools.core.allocator import keep_freed_buffers

        keep_freed_buffers()  # a full check streams every byte (see .core.allocator)
    report = validate_paths(paths, options, strict=request.strict)
    _emit(report, request.output_format, request.output)
    return int(ExitCode.OK if report.valid else ExitCode.FAILURE)


def _streamed_size(path: Path) -> int:
    """The size of the archive file *path* (0 for a directory or what cannot be read)."""
    try:
        status = path.stat()
    except OSError:
        return 0
    return status.st_size if stat.S_ISREG(status.st_mode) else 0


def _codes(values: tuple[str, ...], option: str, known: Sequence[str]) -> tuple[str, ...]:
    """The codes (or code prefixes) of *values*; a usage error for one that selects no
    check of *known*, naming the closest codes."""
    codes = tuple(part.strip() for value in values for part in value.split(",") if part.strip())
    for code in codes:
        if not any(name.startswith(code) for name in known):
            from mar_tools.core.spelling import did_you_mean

            groups = sorted({name.split(".")[0] for name in known})
            hint = did_you_mean(code, [*known, *groups]) or (
                f"codes start with {', '.join(groups)}; mar validate --list-checks lists them."
            )
            raise UsageError(f"{option} {code}: no check has this code.", hint=hint)
    return codes


def _emit(report: Report, output_format: str, output: Path | None) -> None:
    if output_format == "text" and output is None:
        _print_text(report)
        return
    text = _render(report, output_format)
    if output is None:
        echo(text, nl=False)
    else:
        from mar_tools.cli.output_file import write_output

        write_output(output, text.encode("utf-8"))


def _render(report: Report, output_format: str) -> str:
    if output_format == "json":
        from mar_tools.report.json_report import render_json

        return render_json(report)
    if output_format == "sarif":
        from mar_tools.report.sarif import render_sarif

        return render_sarif(report)
    if output_format == "junit":
        from mar_tools.report.junit import render_junit

        return render_junit(report)
    if output_format == "github":
        from mar_tools.report.github import render_github

        return render_github(report)
    from mar_tools.report.text import render_text

    return render_text(report)


def _print_text(report: Report) -> None:
    """The text report on stdout: styled through rich when colour is wanted, else written
    plainly (the same characters; rich is then not imported, which keeps start-up small)."""
    from mar_tools.report.text import render_lines

    if not settings.wants_color(sys.stdout):
        for line in render_lines(report):
            echo("".join(segment.text for segment in line))
        return
    from rich.text import Text

    from mar_tools.terminal import console

    out = console.stdout()
    for line in render_lines(report):
        text = Text()
        for segment in line:
            text.append(segment.text, style=STYLES.get(segment.style, ""))
        out.print(text)
