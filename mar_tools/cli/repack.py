"""``mar repack ARCHIVE --archive-format FORMAT``: the same model, in another format."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from mar_tools.core.errors import ArchiveError, UsageError
from mar_tools.core.reporter import Reporter, SilentReporter
from mar_tools.core.sizes import human_size
from mar_tools.terminal.help import HelpCommand

#: torch-model-archiver's --archive-format values (``torch_model_archiver.spec.ArchiveFormat``).
FORMATS = ("default", "zip-store", "tgz", "no-archive")


@click.command(
    "repack",
    cls=HelpCommand,
    short_help="Convert an archive to another format (same model).",
    examples=(
        ("mar repack model.mar --archive-format tgz", "a .tar.gz of the same model"),
        ("mar repack model/ --archive-format default -o model.mar", "a directory to a .mar"),
        (
            "SOURCE_DATE_EPOCH=0 mar repack old.mar --archive-format default --normalize",
            "byte for byte what torch-model-archiver builds",
        ),
    ),
)
@click.argument("archive", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--archive-format",
    "archive_format",
    type=click.Choice(FORMATS),
    required=True,
    help="default: .mar (deflated where it pays); zip-store: .mar, nothing compressed; "
    "tgz: .tar.gz; no-archive: a directory.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write.  [default: MODEL_NAME.mar, .tar.gz or MODEL_NAME/ here]",
)
@click.option(
    "--normalize",
    is_flag=True,
    help="Rewrite the manifest and timestamps as torch-model-archiver does (with "
    "SOURCE_DATE_EPOCH: byte for byte what it builds from the same files).",
)
@click.option("-f", "--force", is_flag=True, help="Replace an existing output (only on success).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@click.option("--debug", "_debug", is_flag=True, hidden=True, help="Show Python tracebacks.")
def command(
    archive: Path,
    archive_format: str,
    output: Path | None,
    normalize: bool,
    force: bool,
    quiet: bool,
    _debug: bool,
) -> None:
    """Convert ARCHIVE (a .mar, a .tar.gz, a model directory, or a zip of a model folder)
    to another format, reading its members only (never the original inputs). The content
    digest stays the same; SOURCE_DATE_EPOCH makes the output reproducible.

    Exit status: 0; 2 on a usage error or an output that exists (without --force) or cannot
    be written; 3 when ARCHIVE cannot be read, is unsafe or is damaged.
    """
    from torch_model_archiver.errors import ModelArchiverError, OutputExistsError, OutputWriteError
    from torch_model_archiver.repack import RepackSpec, repack_archive
    from torch_model_archiver.spec import ArchiveFormat, source_date_epoch_from

    # rich is imported only for a terminal: in a pipeline the command starts faster.
    silent = SilentReporter()
    reporter: Reporter = silent
    interactive = not quiet and sys.stderr.isatty()
    if interactive:
        from mar_tools.terminal import console
        from mar_tools.terminal.reporter import TerminalReporter

        interactive = console.is_interactive()
        reporter = TerminalReporter(prog="mar", show_progress=interactive)
    started = time.perf_counter()
    try:
        spec = RepackSpec(
            source=archive,
            archive_format=ArchiveFormat(archive_format),
            output=output,
            normalize=normalize,
            force=force,
            source_date_epoch=source_date_epoch_from(os.environ),
        )
        if spec.archive_format in (ArchiveFormat.DEFAULT, ArchiveFormat.TGZ):
            from mar_tools.core.allocator import keep_freed_buffers

            keep_freed_buffers()  # fewer page faults compressing (process-wide: see its doc)
        result = repack_archive(spec, reporter=reporter)
    except (OutputExistsError, OutputWriteError) as exc:
        raise UsageError(exc.message, hint=exc.hint) from exc
    except ModelArchiverError as exc:
        raise ArchiveError(exc.message, hint=exc.hint) from exc
    for warning in silent.warnings:
        click.echo(f"mar: warning: {warning}", err=True)
    if interactive:
        size = sum(entry.stored_size for entry in result.entries)
        seconds = time.perf_counter() - started
        console.stderr().print(
            f"Wrote {result.path} ({len(result.entries)} files, {human_size(size)}, "
            f"{seconds:.1f} s)",
            markup=False,
        )
