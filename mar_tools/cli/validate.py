"""``mar validate PATH...``: check model archives; exit 0 when all are valid, 1 when not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mar_tools.cli.limit_options import limit_options, limits_from
from mar_tools.cli.validate_run import FORMATS, ValidateRequest, run_validate
from mar_tools.terminal.help import HelpCommand

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


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
    if not (list_checks or changed_files or paths):
        raise click.UsageError("give at least one PATH (a .mar, a .tar.gz or a directory).")
    request = ValidateRequest(
        paths=paths,
        limits=limits_from(limits),
        output_format=output_format,
        output=output,
        strict=strict,
        quick=quick,
        select=select,
        ignore=ignore,
        changed_files=changed_files,
        list_checks=list_checks,
    )
    # ctx.exit (not a return value) so that CliRunner and the CLI boundary see the same code.
    click.get_current_context().exit(run_validate(request))
