"""``mar extract ARCHIVE [DIR]``: a model archive's files on disk, safely and atomically."""

from __future__ import annotations

from pathlib import Path

import click

from mar_tools.core.errors import UsageError
from mar_tools.core.sizes import human_size
from mar_tools.terminal import console
from mar_tools.terminal.help import HelpCommand

SUFFIXES = (".tar.gz", ".tgz", ".mar", ".zip")


@click.command(
    "extract",
    cls=HelpCommand,
    short_help="Extract an archive's files, as TorchServe lays them out.",
    examples=(
        ("mar extract model.mar", "into ./model"),
        ("mar extract model.tar.gz out/ --force", "into out/, replacing it"),
    ),
)
@click.argument("archive", type=click.Path(exists=True, path_type=Path))
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option(
    "-f",
    "--force",
    is_flag=True,
    help="Replace an existing DIR (in one step, once the extraction is complete).",
)
@click.option("--debug", "_debug", is_flag=True, hidden=True, help="Show Python tracebacks.")
def command(archive: Path, directory: Path | None, force: bool, _debug: bool) -> None:
    """Extract ARCHIVE (a .mar, a .tar.gz or a model directory) into DIR, as TorchServe
    lays it out (a tar.gz's top directory stripped).  [default DIR: the archive's name
    without its suffix, here]

    The checks and limits are mar run's: names that leave DIR, links, devices and encrypted
    members are refused before anything is written. DIR appears complete or not at all,
    and an existing DIR is never replaced without --force.

    Exit status: 0; 2 when DIR exists (without --force) or cannot be written; 3 when
    ARCHIVE cannot be read or is unsafe.
    """
    from mar_tools.core.extraction import extract_to

    target = directory or Path(_stem(archive))
    if target.resolve() == archive.resolve():
        raise UsageError(f"{target} is the archive itself; give another DIR.")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists.", hint="pass -f/--force to replace it.")
    try:
        extract_to(archive, target, replace=force)
    except FileExistsError:
        raise UsageError(
            f"{target} already exists.", hint="pass -f/--force to replace it."
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot write {target} ({exc.strerror or exc}); nothing was written."
        ) from exc
    if console.is_interactive():
        files = [path for path in target.rglob("*") if path.is_file()]
        size = sum(path.stat().st_size for path in files)
        console.stderr().print(
            f"Extracted {len(files)} files ({human_size(size)}) into {target}", markup=False
        )


def _stem(archive: Path) -> str:
    name = archive.name
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name + ".extracted"
