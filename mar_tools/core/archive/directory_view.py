"""The view of a no-archive model directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

from mar_tools.core.archive.member import ContainerFormat, Member, MemberKind
from mar_tools.core.archive.view import ArchiveView
from mar_tools.core.errors import ArchiveError


class DirectoryView(ArchiveView):
    """A no-archive model directory. Symlinks are listed, never followed.

    The model directory is found by TorchServe's rule (:func:`model_root`), unless *exact*
    says *path* is the model directory itself (an extracted archive, say).
    """

    format = ContainerFormat.DIRECTORY

    def __init__(self, path: Path, *, exact: bool = False) -> None:
        self.root = path if exact else model_root(path)
        members: list[Member] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            base = Path(dirpath)
            for name in [*sorted(filenames), *(d for d in dirnames if (base / d).is_symlink())]:
                full = base / name
                rel = full.relative_to(self.root).as_posix()
                info = full.lstat()
                kind: MemberKind = "file"
                target = None
                if stat.S_ISLNK(info.st_mode):
                    kind, target = "symlink", str(full.readlink())
                elif not stat.S_ISREG(info.st_mode):
                    kind = "other"
                members.append(
                    Member(
                        len(members),
                        rel,
                        rel,
                        kind,
                        info.st_size,
                        info.st_size,
                        mode=stat.S_IMODE(info.st_mode),
                        link_target=target,
                        mtime=info.st_mtime,
                    )
                )
        super().__init__(path, members)

    def open(self, member: Member) -> IO[bytes]:
        try:
            return open(self.root / member.name, "rb")
        except OSError as exc:
            raise ArchiveError(f"{self.root / member.name}: cannot read ({exc.strerror}).") from exc

    def open_range(self, member: Member) -> IO[bytes] | None:
        if member.kind != "file":
            return None
        try:
            return open(self.root / member.name, "rb")
        except OSError:
            return None


def model_root(directory: Path) -> Path:
    """TorchServe's rule for a no-archive directory: a lone sub-directory is the model dir."""
    try:
        entries = list(directory.iterdir())
    except OSError as exc:
        raise ArchiveError(f"{directory}: cannot list the directory ({exc.strerror}).") from exc
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return directory
