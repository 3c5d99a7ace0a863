"""``mar validate PATH...``: check model archives; exit 0 when all are valid, 1 when not."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mar_tools.cli.limit_options import limit_options, limits_from
from mar_tools.cli.output_file import check_output, write_output
from mar_tools.core.errors import ExitCode, UsageError
from mar_tools.core.spelling import did_you_mean
from mar_tools.report.result import Report
from mar_tools.terminal import settings
from mar_tools.terminal.help import HelpCommand

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

FORMATS = ("text", "json", "sarif", "junit", "github")
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


def _codes(values: tuple[str, ...], option: str, known: Sequence[str]) -> tuple[str, ...]:
    """The codes (or code prefixes) of *values*; a usage error for one that selects no
    check of *known*, naming the closest codes."""
    codes = tuple(part.strip() for value in values for part in value.split(",") if part.strip())
    for code in codes:
        if not any(name.startswith(code) for name in known):
            groups = sorted({name.split(".")[0] for name in known})
            hint = did_you_mean(code, [*known, *groups]) or (
                f"codes start with {', '.join(groups)}; mar validate --list-checks lists them."
            )
            raise UsageError(f"{option} {code}: no check has this code.", hint=hint)
    return codes


def complete_codes(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of ``--select``/``--ignore``: the check codes and their families
    (``zip.``) that start with the last comma-separated part of *incomplete*."""
    # Imported here: the catalogue is read only when the shell asks.
    from click.shell_completion import CompletionItem

    from mar_tools.validate.catalog import CATALOG

    done, _, last = incomplete.rpartition(",")
    head = f"{done}," if done else ""
    families = sorted({info.code.split(".")[0] + "." for info in CATALOG})
    items = [
        CompletionItem(f"{head}{family}", help="every check of the family") for family in families
    ]
    items += [CompletionItem(f"{head}{info.code}", help=info.title) for info in CATALOG]
    return [item for item in items if str(item.value)[len(head) :].startswith(last)]


@click.command(
    "validate",
    cls=HelpCommand,
    short_help="Check archives for TorchServe 0.12 (CI-ready reports).",
    examples=(
        ("mar validate model.mar", "check one archive"),
        ("mar validate models/*.mar --strict", "warnings fail too"),
        ("mar validate model.mar --format sarif -o report.sarif", "a report for code scanning"),
        ("mar validate model.mar --ignore pickle.unlisted-global", "skip one check"),
        ("mar validate --list-checks", "every check code"),
    ),
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@click.option("--strict", is_flag=True, help="Warnings fail validation too.")
@click.option(
    "--quick",
    is_flag=True,
    help="Check metadata only: skip reading every entry in full (no CRC check).",
)
@click.option(
    "--select",
    multiple=True,
    metavar="CODE",
    shell_complete=complete_codes,
    help="Report only codes starting with CODE (repeatable, comma-separated).",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="CODE",
    shell_complete=complete_codes,
    help="Do not report codes starting with CODE (repeatable, comma-separated).",
)
@limit_options
@click.option(
    "--changed-files",
    is_flag=True,
    help="PATHS are changed files (as pre-commit passes them): check each .mar/.tar.gz, and "
    "the model directory (holding MAR-INF/MANIFEST.json) that contains each file; skip "
    "the rest.",
)
@click.option("--list-checks", is_flag=True, help="List every check code and exit.")
@click.option("--debug", "_debug", is_flag=True, hidden=True, help="Show Python tracebacks.")
def command(
    paths: tuple[Path, ...],
    output_format: str,
    output: Path | None,
    strict: bool,
    quick: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    changed_files: bool,
    list_checks: bool,
    _debug: bool,
    **limits: Any,
) -> None:
    """Check .mar, .tar.gz and model-directory archives for TorchServe 0.12.

    Exit status: 0 when every PATH is valid, 1 when one is not, 2 on a usage error.

    \b
    Docs: https://github.com/mar-tools/mar-tools/blob/main/docs/validate.md
    """
    from mar_tools.validate import CATALOG, ValidateOptions, validate_paths

    if list_checks:
        for info in CATALOG:
            click.echo(f"{info.code:32} {info.severity.value:8} {info.title}")
        return
    if changed_files:
        from mar_tools.validate.changed import archives_of_changed

        paths = tuple(archives_of_changed(paths))
    elif not paths:
        raise click.UsageError("give at least one PATH (a .mar, a .tar.gz or a directory).")
    known = [info.code for info in CATALOG]
    if output is not None:
        check_output(output, paths)
    options = ValidateOptions(
        quick=quick,
        limits=limits_from(limits),
        select=_codes(select, "--select", known),
        ignore=_codes(ignore, "--ignore", known),
    )
    report = validate_paths(paths, options, strict=strict)
    _emit(report, output_format, output)
    # ctx.exit (not a return value) so that CliRunner and the CLI boundary see the same code.
    click.get_current_context().exit(int(ExitCode.OK if report.valid else ExitCode.FAILURE))


def _emit(report: Report, output_format: str, output: Path | None) -> None:
    if output_format == "text" and output is None:
        _print_text(report)
        return
    text = _render(report, output_format)
    if output is None:
        click.echo(text, nl=False)
    else:
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
            click.echo("".join(segment.text for segment in line))
        return
    from rich.text import Text

    from mar_tools.terminal import console

    out = console.stdout()
    for line in render_lines(report):
        text = Text()
        for segment in line:
            text.append(segment.text, style=STYLES.get(segment.style, ""))
        out.print(text)
