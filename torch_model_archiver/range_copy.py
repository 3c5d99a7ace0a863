"""Copying a stored entry's bytes from its source into the archive, in the kernel.

Stored data (weights deflate cannot shrink) needs no transformation, so it goes from file to
file with ``copy_file_range`` (as ``cp`` does: no trip through Python), and its CRC-32 is
computed on a worker thread from the bytes just written to the archive, not from a second
read of the source: whatever happens to the source meanwhile, the CRC describes what the
archive holds. Where the kernel or file system cannot (``EXDEV``, ``ENOSYS``, ``EINVAL``...),
the bytes are read and written by us instead. Ranges that are holes in a sparse source stay
holes in the archive (``SEEK_DATA``), and cost nothing.
"""

from __future__ import annotations

import errno
import os
from functools import partial
from pathlib import Path
from typing import Final, cast

from mar_tools.core.mapped_range import read_back
from torch_model_archiver.compression import Backend
from torch_model_archiver.pipeline import Future, Pool
from torch_model_archiver.writing import changed, read_at

#: Errors meaning "this file system or kernel cannot copy_file_range here": fall back.
_UNSUPPORTED: Final = frozenset(
    {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM}
)


class RangeCopier:
    """Copies byte ranges of source files to given offsets of the output file ``out_fd``."""

    def __init__(self, out_fd: int, pool: Pool[object], backend: Backend) -> None:
        self.out_fd = out_fd
        self.pool = pool
        self.backend = backend
        self.kernel_copy = hasattr(os, "copy_file_range")
        self._zero_crcs: dict[int, int] = {}
        self._first_hole: dict[int, int] = {}

    def copy(self, fd: int, offset: int, size: int, out_offset: int, source: Path) -> Future[int]:
        """Copy ``size`` bytes of *fd* at *offset* to the output at *out_offset*.

        Returns the future CRC-32 of the bytes. Raises :class:`SourceChangedError` when the
        source is shorter than expected.
        """
        if offset + size > self._hole_start(fd) and _is_hole(fd, offset, size):
            return self._done(self._zeros_crc(size))
        if self.kernel_copy:
            try:
                self._kernel_copy(fd, offset, size, out_offset, source)
            except OSError as exc:
                if exc.errno not in _UNSUPPORTED:
                    raise
                self.kernel_copy = False
            else:
                crc = self.pool.submit(partial(self._crc_of_output, out_offset, size))
                return cast("Future[int]", crc)
        data = read_at(fd, size, offset, source)
        os.pwrite(self.out_fd, data, out_offset)
        return self._done(self.backend.crc32(data, 0))

    def _hole_start(self, fd: int) -> int:
        """Where *fd*'s first hole starts (its size if it has none), asked once per file:
        looking for data (``SEEK_DATA``) is slow on a fully cached file, ~0.5 ms a call."""
        if fd not in self._first_hole:
            seek_hole = getattr(os, "SEEK_HOLE", None)
            try:
                start = os.lseek(fd, 0, seek_hole) if seek_hole is not None else 1 << 63
            except OSError:
                start = 1 << 63
            self._first_hole[fd] = start
        return self._first_hole[fd]

    def forget(self, fd: int) -> None:
        """*fd* is closed (its number may be reused for another file)."""
        self._first_hole.pop(fd, None)

    def _kernel_copy(self, fd: int, offset: int, size: int, out_offset: int, source: Path) -> None:
        done = 0
        while done < size:
            count = os.copy_file_range(
                fd, self.out_fd, size - done, offset + done, out_offset + done
            )
            if count == 0:
                raise changed(source)
            done += count

    def _crc_of_output(self, offset: int, size: int) -> int:
        """CRC-32 of the archive's bytes at *offset*, read through a memory map (no copy).

        Only our own temporary file is mapped: nobody else truncates it under us.
        """
        return self.backend.crc32(read_back(self.out_fd, offset, size), 0)

    def _zeros_crc(self, size: int) -> int:
        if size not in self._zero_crcs:
            self._zero_crcs[size] = self.backend.crc32(bytes(size), 0)
        return self._zero_crcs[size]

    @staticmethod
    def _done(value: int) -> Future[int]:
        future: Future[int] = Future()
        future.set_result(value)
        return future


def _is_hole(fd: int, offset: int, size: int) -> bool:
    """True when the whole range is a hole of a sparse file (no data stored there)."""
    seek_data = getattr(os, "SEEK_DATA", None)
    if seek_data is None:
        return False
    try:
        return os.lseek(fd, offset, seek_data) >= offset + size
    except OSError as exc:
        # ENXIO: no data at or after offset (a hole up to the end of the file).
        return exc.errno == errno.ENXIO
