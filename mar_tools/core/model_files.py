"""Read-only access to a model's files by name, over any archive view.

:class:`ModelFiles` answers the questions the requirements reader and the environment key
ask (is this name a file or a directory, what are its bytes, which files lie under it)
for a ``.mar`` zip, a ``.tar.gz`` or a directory alike, through the same
:class:`~mar_tools.core.archive.ArchiveView` every command reads archives with. So
``mar env path model.mar`` computes from the archive the same key that ``mar run`` computes
from the extracted model directory.

Names are POSIX paths relative to the model directory. Names outside it (absolute, or
climbing out with ``..``) never resolve, whether the model is an archive or a directory on
disk: they would name files of whichever machine reads the model (pip would read ``-f /usr``
or ``-r /etc/...`` from the local disk), so they count as missing, are never read, and
``mar`` refuses requirements that name them (:mod:`mar_tools.core.requirements_policy`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal

from mar_tools.core.archive.directory_view import DirectoryView
from mar_tools.core.archive.view import ArchiveView

FileKind = Literal["file", "dir"]


def normalize(name: str) -> str:
    """*name* as a normalized POSIX path (relative names stay relative)."""
    return posixpath.normpath(name.replace("\\", "/"))


def is_outside(name: str) -> bool:
    """True for (normalized) names that are absolute or leave the model directory."""
    return name.startswith("/") or name == ".." or name.startswith("../")


class ModelFiles:
    """The files of the model that *view* holds (see the module docstring)."""

    def __init__(self, view: ArchiveView) -> None:
        self.view = view

    @classmethod
    def directory(cls, root: Path) -> ModelFiles:
        """The files of the model directory *root* (an extracted archive, say)."""
        return cls(DirectoryView(root, exact=True))

    def kind(self, name: str) -> FileKind | None:
        """``"file"``, ``"dir"``, or None when *name* does not exist."""
        base = normalize(name)
        if is_outside(base):
            return None
        if base == ".":
            return "dir"
        if self.view.find(base) is not None:
            return "file"
        prefix = base + "/"
        if any(m.name.startswith(prefix) for m in self.view.files()):
            return "dir"
        return None

    def read(self, name: str) -> bytes:
        """The bytes of file *name* (call :meth:`kind` first)."""
        with self.open(name) as stream:
            return stream.read()

    def open(self, name: str) -> IO[bytes]:
        """A binary stream of file *name*, for files too large to read whole."""
        base = normalize(name)
        member = None if is_outside(base) else self.view.find(base)
        if member is None:
            raise FileNotFoundError(base)
        return self.view.open(member)

    def walk(self, name: str) -> Iterator[str]:
        """Names of the regular files under directory *name*, sorted."""
        base = normalize(name)
        if is_outside(base):
            return
        prefix = "" if base == "." else base + "/"
        yield from sorted({m.name for m in self.view.files() if m.name.startswith(prefix)})
