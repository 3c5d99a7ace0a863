"""Finding input files: checking one file, and expanding ``--extra-files`` into files.

Nothing here raises for bad input: every problem is recorded in a :class:`Problems` so that
the build can report all of them at once, before anything is written.

Expansion rules (upstream 0.12's, see docs/archiver.md): an item is a file, a directory or
a glob (it contains ``*`` or ``?``, or both ``[`` and ``]``; not recursive; ``*`` skips
hidden names). A named or matched directory is walked: inside it, directories called
``__pycache__`` or ``__MACOSX`` or starting with ``.`` are skipped; files are never
filtered. Symlinks are followed (loops are reported). Where files land depends on the
layout: ``flat`` puts a file at the root and a directory's children at the root;
``relative`` keeps paths relative to the base directory. A build's own temporary files
(``output.py``) found in a walked directory are skipped.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from torch_model_archiver.output import PARTIAL, TEMP_MARK
from torch_model_archiver.spec import ExtraFilesLayout

IGNORED_DIRS: Final = frozenset({"__pycache__", "__MACOSX"})


def is_ignored_dir(name: str) -> bool:
    """Upstream's directory filter: ``__pycache__``, ``__MACOSX`` and dot-directories."""
    return name in IGNORED_DIRS or name.startswith(".")


def is_build_temporary(name: str) -> bool:
    """True for the temporaries of a build in progress (or a dead one): never archived."""
    return name.startswith(".") and TEMP_MARK in name and name.endswith(PARTIAL)


def is_wildcard(item: str) -> bool:
    """Upstream's test for a glob pattern in ``--extra-files``."""
    return "*" in item or "?" in item or ("[" in item and "]" in item)


@dataclass
class Problems:
    """Problems found so far, a hint or two, and whether all of them are missing files."""

    messages: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    only_missing: bool = True

    def add(self, message: str, *, missing: bool = False, hint: str | None = None) -> None:
        self.messages.append(message)
        self.only_missing = self.only_missing and missing
        if hint and hint not in self.hints:
            self.hints.append(hint)

    def __bool__(self) -> bool:
        return bool(self.messages)


@dataclass(frozen=True)
class SourceFile:
    """A regular file to archive: where it goes, where it is, and who asked for it."""

    arcname: str
    path: Path
    origin: str
    stat: os.stat_result


def inspect_file(path: Path, label: str, problems: Problems) -> os.stat_result | None:
    """Return the ``stat`` of the regular, readable file *path*, or record why not."""
    try:
        info = path.stat()
    except FileNotFoundError:
        broken = path.is_symlink()
        problems.add(
            f"{label}: {'broken symbolic link' if broken else 'no such file'}", missing=True
        )
        return None
    except OSError as exc:
        problems.add(f"{label}: cannot be read ({exc.strerror})")
        return None
    if stat.S_ISDIR(info.st_mode):
        problems.add(f"{label}: is a directory, not a file")
        return None
    if not stat.S_ISREG(info.st_mode):
        problems.add(f"{label}: is not a regular file")
        return None
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        problems.add(f"{label}: cannot be read ({exc.strerror})")
        return None
    return info


def expand_extra_files(
    items: tuple[str, ...],
    layout: ExtraFilesLayout,
    base_dir: Path,
    problems: Problems,
    warnings: list[str],
) -> list[SourceFile]:
    """Every file the ``--extra-files`` *items* stand for, with its archive name."""
    found: list[SourceFile] = []
    for item in items:
        flag = f"--extra-files {item}"
        if not is_wildcard(item):
            found += _expand_path(item, flag, layout, base_dir, problems)
            continue
        # glob.glob, not Path.glob: upstream's semantics (absolute patterns, no recursion).
        matches = sorted(glob.glob(item, root_dir=base_dir))  # noqa: PTH207
        if not matches:
            warnings.append(f"--extra-files pattern {item!r} matched no file")
        for match in matches:
            found += _expand_path(match, flag, layout, base_dir, problems)
    return found


def _expand_path(
    item: str, flag: str, layout: ExtraFilesLayout, base_dir: Path, problems: Problems
) -> list[SourceFile]:
    """The files of one path (a file, or a directory walked), named per *layout*."""
    path = base_dir / item
    prefix = ""
    if layout is ExtraFilesLayout.RELATIVE:
        relative = os.path.relpath(os.path.normpath(path), base_dir).replace(os.sep, "/")
        if relative == ".." or relative.startswith("../"):
            problems.add(
                f"{flag}: {item} is outside {base_dir}, so it has no path relative to it",
                hint="with --extra-files-layout relative, run from a directory that holds "
                "every extra file (or use the flat layout).",
            )
            return []
        prefix = "" if relative == "." else relative
    if not path.is_dir():
        origin = _origin(item, flag)
        info = inspect_file(path, origin, problems)
        return [] if info is None else [SourceFile(prefix or path.name, path, origin, info)]
    files: list[SourceFile] = []
    for name, child, info in _walk(path, flag, problems, frozenset()):
        arcname = f"{prefix}/{name}" if prefix else name
        files.append(SourceFile(arcname, child, _origin(f"{item.rstrip('/')}/{name}", flag), info))
    return files


def _origin(shown: str, flag: str) -> str:
    """How a file is named in messages: its path, and the flag item it came from."""
    return flag if flag.endswith(f" {shown}") else f"{shown} (from {flag})"


def _walk(
    directory: Path, label: str, problems: Problems, ancestors: frozenset[tuple[int, int]]
) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(name relative to *directory*, path, stat) of each file below it, sorted by name."""
    try:
        here = directory.stat()
        names = sorted(entry.name for entry in os.scandir(directory))
    except OSError as exc:
        problems.add(f"{label}: cannot list directory {directory} ({exc.strerror})")
        return
    ancestors = ancestors | {(here.st_dev, here.st_ino)}
    for name in names:
        if is_build_temporary(name):
            continue
        child = directory / name
        try:
            info = child.stat()
        except OSError:
            problems.add(f"{label}: {child}: broken symbolic link or unreadable", missing=True)
            continue
        if stat.S_ISDIR(info.st_mode):
            if is_ignored_dir(name):
                continue
            if (info.st_dev, info.st_ino) in ancestors:
                problems.add(f"{label}: {child} is a symbolic link to one of its parents")
                continue
            for below, path, below_info in _walk(child, label, problems, ancestors):
                yield f"{name}/{below}", path, below_info
        elif stat.S_ISREG(info.st_mode):
            if inspect_file(child, f"{label}: {child}", problems) is not None:
                yield name, child, info
        else:
            problems.add(f"{label}: {child} is not a regular file (a pipe, socket or device)")
