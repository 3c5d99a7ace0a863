"""Read-only access to a model's files, on disk or still inside an archive.

The cache key and the requirements parser read files through :class:`ModelFiles`, so
``mar env path model.mar`` computes the same key from the archive as ``mar run`` does
from the extracted model directory. Names are POSIX paths relative to the model
directory. Absolute names are read from the local disk in both cases, as pip would read
them; names that climb out with ``..`` resolve against a model directory on disk and count
as missing inside an archive (there is nothing above an archive's root).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal, Protocol

from mar_tools.core.archive import ArchiveView

FileKind = Literal["file", "dir"]


class ModelFiles(Protocol):
    """What the environment code needs to know about a model's files."""

    def kind(self, name: str) -> FileKind | None:
        """``"file"``, ``"dir"``, or None when *name* does not exist."""

    def read(self, name: str) -> bytes:
        """The bytes of file *name* (call :meth:`kind` first)."""

    def open(self, name: str) -> IO[bytes]:
        """A binary stream of file *name*, for files too large to read whole."""

    def walk(self, name: str) -> Iterator[str]:
        """Names of the regular files under directory *name*, sorted."""


def normalize(name: str) -> str:
    """*name* as a normalized POSIX path (relative names stay relative)."""
    return posixpath.normpath(name.replace("\\", "/"))


def is_outside(name: str) -> bool:
    """True for names that are absolute or leave the model directory."""
    return name.startswith("/") or name == ".." or name.startswith("../")


class DirectoryFiles:
    """A model directory on disk (the extracted archive ``mar run`` works in)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return Path(name) if name.startswith("/") else self.root / name

    def kind(self, name: str) -> FileKind | None:
        path = self._path(normalize(name))
        if path.is_file():
            return "file"
        if path.is_dir():
            return "dir"
        return None

    def read(self, name: str) -> bytes:
        return self._path(normalize(name)).read_bytes()

    def open(self, name: str) -> IO[bytes]:
        return self._path(normalize(name)).open("rb")

    def walk(self, name: str) -> Iterator[str]:
        base = normalize(name)
        top = self._path(base)
        found = sorted(p for p in top.rglob("*") if p.is_file() and not p.is_symlink())
        for path in found:
            yield normalize(posixpath.join(base, path.relative_to(top).as_posix()))


class ArchiveFiles:
    """A model still inside its archive: members are read, never extracted."""

    def __init__(self, view: ArchiveView) -> None:
        self.view = view
        self._disk = DirectoryFiles(Path.cwd())

    def kind(self, name: str) -> FileKind | None:
        base = normalize(name)
        if is_outside(base):
            return self._disk.kind(base) if base.startswith("/") else None
        if base == ".":
            return "dir"
        if self.view.find(base) is not None:
            return "file"
        prefix = base + "/"
        if any(m.name.startswith(prefix) for m in self.view.files()):
            return "dir"
        return None

    def read(self, name: str) -> bytes:
        with self.open(name) as stream:
            return stream.read()

    def open(self, name: str) -> IO[bytes]:
        base = normalize(name)
        if base.startswith("/"):
            return self._disk.open(base)
        member = self.view.find(base)
        if member is None:
            raise FileNotFoundError(base)
        return self.view.open(member)

    def walk(self, name: str) -> Iterator[str]:
        base = normalize(name)
        if base.startswith("/"):
            yield from self._disk.walk(base)
            return
        prefix = "" if base == "." else base + "/"
        yield from sorted({m.name for m in self.view.files() if m.name.startswith(prefix)})
