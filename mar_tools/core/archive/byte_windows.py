"""Seekable, read-only files made of a known number of bytes: the one seek/tell logic.

:mod:`zipfile` needs a seekable file to read a zip's index. Two such files exist here: a
window on part of a file on disk (:class:`RangeFile`: a whole archive opened once, or a
STORED entry of one, read in place), and the end of a stream whose beginning was not kept
(:class:`TailFile`: a torch.save zip read once from a compressed entry, its central
directory kept).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_PREADV = getattr(os, "preadv", None)


class ByteWindow(io.RawIOBase):
    """A read-only, seekable file of *size* bytes; subclasses say how bytes are fetched.

    Seeking past the end is allowed (reads there return nothing), as for a regular file.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        got = self._fetch(self._pos, memoryview(buffer)[:want])
        self._pos += got
        return got

    def _fetch(self, position: int, into: memoryview) -> int:
        """Fill *into* with the bytes at *position* (within the size); return the count."""
        raise NotImplementedError


class RangeFile(ByteWindow):
    """The *length* bytes at *start* of *source*: a file on disk, or an open descriptor.

    A descriptor is read with ``pread`` (readers of one descriptor never share a position)
    and stays open when the window is closed; a path is opened here and closed with it.
    """

    def __init__(self, source: Path | int, start: int, length: int) -> None:
        super().__init__(length)
        self._owned = not isinstance(source, int)
        self._fd = source if isinstance(source, int) else os.open(source, _READ_FLAGS)
        self._start = start

    def _fetch(self, position: int, into: memoryview) -> int:
        if _PREADV is not None:
            return int(_PREADV(self._fd, [into], self._start + position))
        data = os.pread(self._fd, len(into), self._start + position)  # pragma: no cover
        into[: len(data)] = data  # pragma: no cover - systems without preadv (older macOS)
        return len(data)  # pragma: no cover

    def close(self) -> None:
        if not self.closed and self._owned:
            os.close(self._fd)
        super().close()


class TailFile(ByteWindow):
    """A file of *size* bytes whose last ``len(tail)`` bytes are *tail* (zeros before)."""

    def __init__(self, tail: bytes, size: int) -> None:
        super().__init__(size)
        self._tail = bytes(tail)
        self._start = size - len(tail)

    def _fetch(self, position: int, into: memoryview) -> int:
        end = position + len(into)
        known = max(position, self._start)
        into[: max(0, known - position)] = bytes(max(0, min(known, end) - position))
        if known < end:
            into[known - position :] = self._tail[known - self._start : end - self._start]
        return len(into)
