"""Where a build writes, and what the archiver says about it.

The mechanism is mar-tools' one staged publish (:mod:`mar_tools.core.staging`): the build
writes into a temporary ``.<target-name>.tma-<random>.partial`` beside the target, held
under a lock, which one rename publishes (``-f`` replaces an existing output only then; a
``no-archive`` directory is exchanged whole). A build killed even by ``kill -9`` leaves the
target as it was, and the next build of the same target deletes its leftover. This module
keeps only the archiver's side: the checks made before anything is written, the naming, and
the messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from mar_tools.core.staging import Staged, TempNames
from torch_model_archiver.errors import OutputExistsError

#: The archiver's temporaries (``tma``: torch-model-archiver), never archived themselves.
ARCHIVER_TEMPS: Final = TempNames("tma")
FORCE_HINT: Final = "pass -f/--force to replace it (only on success)."


def output_exists(target: Path) -> OutputExistsError:
    return OutputExistsError(f"{target} already exists.", hint=FORCE_HINT)


def output_problems(target: Path, is_dir: bool, force: bool) -> tuple[list[str], bool]:
    """Problems with writing *target*, and whether it exists (refused without *force*)."""
    problems: list[str] = []
    export = target.parent
    if export.exists() and not export.is_dir():
        problems.append(f"--export-path {export} is not a directory")
        return problems, False
    if not os.path.lexists(target):
        return problems, False
    if force and target.is_dir() and not is_dir:
        problems.append(f"{target} is a directory; remove it to write an archive there")
    return problems, not force


def staged_output(target: Path, *, is_dir: bool) -> Staged:
    """The temporary file or directory a build of *target* writes into (a context manager
    that removes it unless :func:`publish` moved it to *target*)."""
    return Staged(target, is_dir=is_dir, names=ARCHIVER_TEMPS)


def publish(staged: Staged, force: bool) -> None:
    """Move the finished output to its target, replacing an existing one only with *force*.

    Raises :class:`OutputExistsError` when, without *force*, the target exists (also when
    it appeared while the archive was being written), or the ``OSError`` of the rename.
    """
    try:
        staged.publish(replace=force)
    except FileExistsError:
        raise output_exists(staged.target) from None
