"""``--output PATH`` of ``mar run`` and ``mar validate``: written whole or not at all.

The bytes go through :func:`mar_tools.core.fs.write_atomically`; this module only turns its
``OSError`` into the usage error (exit 2) the user sees.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from mar_tools.core.errors import UsageError
from mar_tools.core.fs import write_atomically


def check_output(path: Path, inputs: Iterable[Path] = ()) -> None:
    """Raise :class:`UsageError` when *path*'s directory does not exist, or when *path* is
    one of the command's *inputs* or lies inside an input directory (checked before a
    command does its work, so that neither the work nor an input is lost at the end)."""
    directory = _directory(path)
    if not directory.is_dir():
        raise _missing(path, directory)
    for given in inputs:
        if _is_or_holds(given, path):
            what = "inside the input" if given.is_dir() else "the input"
            raise UsageError(
                f"--output {path}: that is {what} {given}; writing the output there would "
                "overwrite it.",
                hint="choose another output file.",
            )


def _is_or_holds(given: Path, output: Path) -> bool:
    """True when *output* is the file *given* (under any name, hard links included) or a
    path inside the directory *given*."""
    try:
        if output.exists() and given.exists() and output.samefile(given):
            return True
        return given.is_dir() and output.resolve().is_relative_to(given.resolve())
    except OSError:
        return False


def write_output(path: Path, data: bytes) -> None:
    """Replace (or create) *path* with *data* atomically; an existing file keeps its mode.

    Raises :class:`UsageError` naming the reason when it cannot be written; the old file, if
    any, is then left as it was.
    """
    try:
        write_atomically(path, data)
    except OSError as exc:
        directory = _directory(path)
        if not directory.is_dir():
            raise _missing(path, directory) from None
        reason = exc.strerror or str(exc)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise UsageError(f"--output {path}: cannot write there ({reason}).") from None
        raise UsageError(f"--output {path}: cannot write ({reason}).") from None


def _directory(path: Path) -> Path:
    return path.parent if str(path.parent) else Path()


def _missing(path: Path, directory: Path) -> UsageError:
    return UsageError(f"--output {path}: the directory {directory} does not exist.")
