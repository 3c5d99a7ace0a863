"""Read-only views over the three archive formats: ``.mar`` zip, ``.tar.gz``, directory.

An :class:`ArchiveView` lists members with the names TorchServe would extract them to
(tar names lose their first path component, as TorchServe strips it) and streams their
bytes. Nothing is ever extracted to disk here and no archive code is imported.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, Literal

from mar_tools.errors import ArchiveError

MemberKind = Literal["file", "dir", "symlink", "other"]

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b"


class ArchiveFormat(str, Enum):
    """The container formats TorchServe loads."""

    ZIP = "zip"
    TGZ = "tgz"
    DIRECTORY = "directory"


@dataclass(frozen=True)
class Member:
    """One entry of an archive.

    ``name`` is the path TorchServe extracts it to, relative to the model directory;
    ``raw_name`` is the name stored in the container. Sizes are as declared by the
    container (a zip's central directory can lie; reading the bytes tells the truth).
    """

    index: int
    name: str
    raw_name: str
    kind: MemberKind
    size: int
    compressed_size: int
    mode: int | None = None
    link_target: str | None = None
    encrypted: bool = False
    crc: int | None = None
    compress_type: int | None = None


def strip_first_component(name: str) -> str:
    """TorchServe's tgz rule: drop everything up to and including the first ``/``."""
    return name.split("/", 1)[1] if "/" in name else name


def unsafe_name_reason(name: str) -> str | None:
    """Why extracting a member called *name* could write outside the model dir, or None."""
    if not name:
        return "empty name"
    if "\x00" in name:
        return "NUL byte in name"
    if "\\" in name:
        return "backslash in name (a path separator on Windows)"
    if name.startswith("/"):
        return "absolute path"
    if len(name) >= 2 and name[1] == ":" and name[0].isalpha():
        return "drive letter"
    if ".." in name.split("/"):
        return "'..' path component"
    return None


class ArchiveView:
    """Base class of the three views. Use :func:`open_archive` to get one."""

    format: ArchiveFormat

    def __init__(self, path: Path, members: list[Member]) -> None:
        self.path = path
        self.members: tuple[Member, ...] = tuple(members)

    def files(self) -> list[Member]:
        """Regular-file members, in container order."""
        return [m for m in self.members if m.kind == "file"]

    def find(self, name: str) -> Member | None:
        """The LAST regular file called *name* (what an extractor leaves on disk), or None."""
        found = None
        for member in self.members:
            if member.kind == "file" and member.name == name:
                found = member
        return found

    def open(self, member: Member) -> IO[bytes]:
        """Return a binary stream of *member*'s bytes (zip streams check the CRC at EOF)."""
        raise NotImplementedError

    def read(self, member: Member, limit: int | None = None) -> bytes:
        """Read *member* whole, or at most *limit* bytes."""
        with self.open(member) as stream:
            return stream.read() if limit is None else stream.read(limit)

    def iter_files(self) -> Iterator[tuple[Member, IO[bytes]]]:
        """Yield each regular file with an open stream, in container order (one pass)."""
        for member in self.files():
            with self.open(member) as stream:
                yield member, stream

    def close(self) -> None:
        """Release the underlying file."""

    def __enter__(self) -> ArchiveView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ZipView(ArchiveView):
    format = ArchiveFormat.ZIP

    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ArchiveError(f"{path}: not a readable zip archive ({exc}).") from exc
        members = [_zip_member(i, info) for i, info in enumerate(self._zip.infolist())]
        self._infos = self._zip.infolist()
        super().__init__(path, members)

    def open(self, member: Member) -> IO[bytes]:
        return self._zip.open(self._infos[member.index])

    def close(self) -> None:
        self._zip.close()


def _zip_member(index: int, info: zipfile.ZipInfo) -> Member:
    mode = (info.external_attr >> 16) & 0xFFFF
    kind: MemberKind = "file"
    if info.is_dir():
        kind = "dir"
    elif stat.S_ISLNK(mode):
        kind = "symlink"
    elif mode and not stat.S_ISREG(mode) and stat.S_IFMT(mode):
        kind = "other"
    return Member(
        index=index,
        name=info.filename,
        raw_name=info.orig_filename,
        kind=kind,
        size=info.file_size,
        compressed_size=info.compress_size,
        mode=mode or None,
        encrypted=bool(info.flag_bits & 0x1),
        crc=info.CRC,
        compress_type=info.compress_type,
    )


class TarView(ArchiveView):
    format = ArchiveFormat.TGZ

    def __init__(self, path: Path) -> None:
        try:
            self._tar = tarfile.open(path, "r:*")  # noqa: SIM115 (closed by close())
            infos = self._tar.getmembers()
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            raise ArchiveError(f"{path}: not a readable tar.gz archive ({exc}).") from exc
        self._infos = infos
        super().__init__(path, [_tar_member(i, info) for i, info in enumerate(infos)])

    def open(self, member: Member) -> IO[bytes]:
        stream = self._tar.extractfile(self._infos[member.index])
        if stream is None:
            raise ArchiveError(f"{self.path}: {member.raw_name} is not a regular file.")
        return stream

    def close(self) -> None:
        self._tar.close()


def _tar_member(index: int, info: tarfile.TarInfo) -> Member:
    kind: MemberKind
    if info.isreg():
        kind = "file"
    elif info.isdir():
        kind = "dir"
    elif info.issym() or info.islnk():
        kind = "symlink"
    else:
        kind = "other"
    return Member(
        index=index,
        name=strip_first_component(info.name),
        raw_name=info.name,
        kind=kind,
        size=info.size,
        compressed_size=info.size,
        mode=info.mode,
        link_target=info.linkname or None,
    )


class DirectoryView(ArchiveView):
    """A no-archive model directory. Symlinks are listed, never followed."""

    format = ArchiveFormat.DIRECTORY

    def __init__(self, path: Path) -> None:
        self.root = model_root(path)
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
                    )
                )
        super().__init__(path, members)

    def open(self, member: Member) -> IO[bytes]:
        return open(self.root / member.name, "rb")


def model_root(directory: Path) -> Path:
    """TorchServe's rule for a no-archive directory: a lone sub-directory is the model dir."""
    try:
        entries = list(directory.iterdir())
    except OSError as exc:
        raise ArchiveError(f"{directory}: cannot list the directory ({exc.strerror}).") from exc
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return directory


def detect_format(path: Path) -> ArchiveFormat:
    """Tell the format of *path* from its content (not its name)."""
    if path.is_dir():
        return ArchiveFormat.DIRECTORY
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except FileNotFoundError as exc:
        raise ArchiveError(f"{path}: no such file or directory.") from exc
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read ({exc.strerror}).") from exc
    if head.startswith(ZIP_MAGIC):
        return ArchiveFormat.ZIP
    if head.startswith(GZIP_MAGIC):
        return ArchiveFormat.TGZ
    if zipfile.is_zipfile(path):  # e.g. a zip with a prefix (self-extracting stub)
        return ArchiveFormat.ZIP
    raise ArchiveError(
        f"{path}: not a model archive (expected a .mar zip, a .tar.gz or a directory)."
    )


def open_archive(path: str | os.PathLike[str]) -> ArchiveView:
    """Open *path* read-only as the archive format its content shows."""
    target = Path(path)
    fmt = detect_format(target)
    if fmt is ArchiveFormat.DIRECTORY:
        return DirectoryView(target)
    if fmt is ArchiveFormat.ZIP:
        return ZipView(target)
    return TarView(target)
