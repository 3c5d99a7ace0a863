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
(``output.py``) found in a walked directory are skipped, and so is the output the build
replaces when a walk or a glob comes across it (only an item naming it takes it).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Final, TypeAlias

from mar_tools.core.record import field, record
from torch_model_archiver.output import ARCHIVER_TEMPS
from torch_model_archiver.spec import ExtraFilesLayout

IGNORED_DIRS: Final = frozenset({"__pycache__", "__MACOSX"})
#: What makes a file itself, whatever the path it is reached by: (device, inode).
FileId: TypeAlias = tuple[int, int]


def is_ignored_dir(name: str) -> bool:
    """Upstream's directory filter: ``__pycache__``, ``__MACOSX`` and dot-directories."""
    return name in IGNORED_DIRS or name.startswith(".")


def is_build_temporary(name: str) -> bool:
    """True for the temporaries of a build in progress (or a dead one): never archived."""
    return ARCHIVER_TEMPS.matches(name)


def is_wildcard(item: str) -> bool:
    """Upstream's test for a glob pattern in ``--extra-files``."""
    return "*" in item or "?" in item or ("[" in item and "]" in item)


def file_id(info: os.stat_result) -> FileId:
    return info.st_dev, info.st_ino


@record(frozen=False)
class Problems:
    """Problems found so far, a hint or two, whether all of them are missing files, and
    the warnings (which do not stop the build)."""

    messages: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    only_missing: bool = True
    warnings: list[str] = field(default_factory=list)

    def add(self, message: str, *, missing: bool = False, hint: str | None = None) -> None:
        self.messages.append(message)
        self.only_missing = self.only_missing and missing
        if hint and hint not in self.hints:
            self.hints.append(hint)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def __bool__(self) -> bool:
        return bool(self.messages)


@record
class SourceFile:
    """A regular file to archive: where it goes, where it is, and who asked for it."""

    arcname: str
    path: Path
    origin: str
    stat: os.stat_result


def inspect_file(path: Path, label: str, problems: Problems) -> os.stat_result | None:
    """Return the ``stat`` of the regular, readable file *path*, or record why not."""
    info = _stat(path, label, problems)
    return info if info is not None and _usable_file(path, info, label, problems) else None


def expand_extra_files(
    items: tuple[str, ...],
    layout: ExtraFilesLayout,
    base_dir: Path,
    problems: Problems,
    output: FileId | None = None,
) -> list[SourceFile]:
    """Every file the ``--extra-files`` *items* stand for, with its archive name.

    *output* identifies the existing output this build replaces: a walk or a glob that
    comes across it skips it with a warning (else each rebuild would nest the previous one).
    """
    expansion = _Expansion(layout, base_dir, problems, output)
    found: list[SourceFile] = []
    for item in items:
        flag = f"--extra-files {item}"
        if not is_wildcard(item):
            found += expansion.path(item, flag, named=True)
            continue
        import glob  # only for a pattern

        # glob.glob, not Path.glob: upstream's semantics (absolute patterns, no recursion).
        matches = sorted(glob.glob(item, root_dir=base_dir))  # noqa: PTH207
        if not matches:
            problems.warn(f"--extra-files pattern {item!r} matched no file")
        for match in matches:
            found += expansion.path(match, flag, named=False)
    return found


@record
class _Expansion:
    layout: ExtraFilesLayout
    base_dir: Path
    problems: Problems
    output: FileId | None

    def path(self, item: str, flag: str, *, named: bool) -> list[SourceFile]:
        """The files of one path (a file, or a directory walked), named per the layout."""
        path = self.base_dir / item
        prefix = self._prefix(path, item, flag)
        if prefix is None:
            return []
        origin = _origin(item, flag)
        info = _stat(path, origin, self.problems)
        if info is None or (not named and self._is_output(info, origin)):
            return []
        if not stat.S_ISDIR(info.st_mode):
            usable = _usable_file(path, info, origin, self.problems)
            return [SourceFile(prefix or path.name, path, origin, info)] if usable else []
        files: list[SourceFile] = []
        shown = item.rstrip("/")
        for name, child, child_info in self._walk(path, info, flag, shown, frozenset()):
            arcname = f"{prefix}/{name}" if prefix else name
            files.append(SourceFile(arcname, child, _origin(f"{shown}/{name}", flag), child_info))
        return files

    def _prefix(self, path: Path, item: str, flag: str) -> str | None:
        """Where the layout puts *path*'s files (``""``: the root); ``None`` if nowhere."""
        if self.layout is not ExtraFilesLayout.RELATIVE:
            return ""
        relative = os.path.relpath(os.path.normpath(path), self.base_dir).replace(os.sep, "/")
        if relative == ".." or relative.startswith("../"):
            self.problems.add(
                f"{flag}: {item} is outside {self.base_dir}, so it has no path relative to it",
                hint="with --extra-files-layout relative, run from a directory that holds "
                "every extra file (or use the flat layout).",
            )
            return None
        return "" if relative == "." else relative

    def _is_output(self, info: os.stat_result, shown: str) -> bool:
        if self.output is None or file_id(info) != self.output:
            return False
        self.problems.warn(f"{shown}: skipped, it is the output this build replaces")
        return True

    def _walk(
        self,
        directory: Path,
        here: os.stat_result,
        label: str,
        shown: str,
        ancestors: frozenset[FileId],
    ) -> Iterator[tuple[str, Path, os.stat_result]]:
        """(name relative to *directory*, path, stat) of each file below it, sorted by name.

        *here* is the directory's ``stat``, *shown* how messages name it.
        """
        try:
            with os.scandir(directory) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            self.problems.add(f"{label}: cannot list directory {directory} ({exc.strerror})")
            return
        ancestors = ancestors | {file_id(here)}
        for name in names:
            if is_build_temporary(name):
                continue
            child = directory / name
            try:
                info = child.stat()
            except OSError:
                message = f"{label}: {child}: broken symbolic link or unreadable"
                self.problems.add(message, missing=True)
                continue
            if self._is_output(info, _origin(f"{shown}/{name}", label)):
                continue
            if stat.S_ISDIR(info.st_mode):
                if is_ignored_dir(name):
                    continue
                if file_id(info) in ancestors:
                    self.problems.add(f"{label}: {child} is a symbolic link to one of its parents")
                    continue
                walk = self._walk(child, info, label, f"{shown}/{name}", ancestors)
                for below, path, below_info in walk:
                    yield f"{name}/{below}", path, below_info
            elif not stat.S_ISREG(info.st_mode):
                message = f"{label}: {child} is not a regular file (a pipe, socket or device)"
                self.problems.add(message)
            elif _readable(child, f"{label}: {child}", self.problems):
                yield name, child, info


def _origin(shown: str, flag: str) -> str:
    """How a file is named in messages: its path, and the flag item it came from."""
    return flag if flag.endswith(f" {shown}") else f"{shown} (from {flag})"


def _stat(path: Path, label: str, problems: Problems) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        broken = path.is_symlink()
        problems.add(
            f"{label}: {'broken symbolic link' if broken else 'no such file'}", missing=True
        )
    except OSError as exc:
        problems.add(f"{label}: cannot be read ({exc.strerror})")
    return None


def _usable_file(path: Path, info: os.stat_result, label: str, problems: Problems) -> bool:
    if stat.S_ISDIR(info.st_mode):
        problems.add(f"{label}: is a directory, not a file")
        return False
    if not stat.S_ISREG(info.st_mode):
        problems.add(f"{label}: is not a regular file")
        return False
    return _readable(path, label, problems)


def _readable(path: Path, label: str, problems: Problems) -> bool:
    """Open and close *path* (a regular file): reading it will then work too."""
    try:
        os.close(os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)))
    except OSError as exc:
        problems.add(f"{label}: cannot be read ({exc.strerror})")
        return False
    return True
