"""An archive file opened once: one descriptor every reader of it shares.

Reading an archive by its path more than once lets it change in between (``torch-model-archiver
-f`` replaces its output by a rename): the listing could come from one file and the bytes
from another. :class:`ArchiveFile` opens the path once; every reader made from it
(:meth:`ArchiveFile.reader`) reads that same file with ``pread``, at its own position, so
readers never disturb each other and a file renamed over the path is never seen.

Opening refuses anything but a regular file, without blocking: a FIFO given as the archive
would otherwise wait forever for a writer.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mar_tools.core.archive.byte_windows import RangeFile
from mar_tools.core.errors import ArchiveError
from mar_tools.core.record import record

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_FLAGS |= getattr(os, "O_CLOEXEC", 0)


@record
class Fingerprint:
    """What identifies one version of a file: device, inode, size, mtime and ctime (ns).

    Any write to the file changes its ctime, which ``touch``/``utime`` cannot set back.
    """

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> Fingerprint:
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)

    def __str__(self) -> str:
        return f"{self.device}:{self.inode}:{self.size}:{self.mtime_ns}:{self.ctime_ns}"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class ArchiveFile:
    """The regular file at *path*, open for reading (see the module docstring)."""

    def __init__(self, path: Path, fd: int, info: os.stat_result) -> None:
        self.path = path
        self.fd = fd
        self.fingerprint = Fingerprint.of(info)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ArchiveFile:
        """Open *path*; :class:`ArchiveError` when it is missing, unreadable, a directory, or
        not a regular file (FIFOs, devices and sockets are refused without waiting)."""
        target = Path(path)
        try:
            fd = os.open(target, _FLAGS)
        except FileNotFoundError as exc:
            raise ArchiveError(f"{target}: no such file or directory.") from exc
        except OSError as exc:
            raise ArchiveError(f"{target}: cannot read ({exc.strerror or exc}).") from exc
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise ArchiveError(f"{target}: is a directory.")
            if not stat.S_ISREG(info.st_mode):
                raise ArchiveError(
                    f"{target}: {_kind(info.st_mode)}, not an archive file; give a .mar, a "
                    ".tar.gz or a model directory."
                )
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return cls(target, fd, info)

    @property
    def size(self) -> int:
        """The size when it was opened."""
        return self.fingerprint.size

    def changed(self) -> bool:
        """True when the open file was written to (or resized) since it was opened: its
        size or mtime moved. A rename over its path, or an unlink, moves only its ctime:
        the bytes of the open file are unchanged."""
        now = Fingerprint.of(os.fstat(self.fd))
        return (now.size, now.mtime_ns) != (self.fingerprint.size, self.fingerprint.mtime_ns)

    def head(self, count: int) -> bytes:
        """The first *count* bytes (fewer when the file is shorter)."""
        return os.pread(self.fd, count, 0)

    def reader(self, start: int = 0, length: int | None = None) -> RangeFile:
        """An independent, seekable, unbuffered reader of *length* bytes from *start* (to
        the end of the file by default); closing it leaves this file open."""
        size = self.size - start if length is None else length
        return RangeFile(self.fd, start, max(size, 0))

    def duplicate(self) -> ArchiveFile:
        """Another handle on the same open file (its own descriptor, to close separately)."""
        copy = ArchiveFile.__new__(ArchiveFile)
        copy.path, copy.fd, copy.fingerprint = self.path, os.dup(self.fd), self.fingerprint
        return copy

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> ArchiveFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
