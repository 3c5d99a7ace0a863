"""A stored entry's bytes copied by the kernel, then checked and hashed as they were written.

A ZIP_STORED entry's data is the file to extract, byte for byte. Reading it into Python
and writing it out again copies every byte twice; ``copy_file_range`` has the kernel copy
it from the archive's descriptor into the extracted file, on one core, in blocks of
:data:`BLOCK`. Each block is then read back from the extracted file (a shared read-only
``mmap`` of the pages just written, no copy), and those views are what the archive's
hash and the entry's CRC-32 are computed over, both on the hashing thread
(:meth:`.HashingReader.hand_over`) while the kernel copies the next block on this one:
the two threads do about equal work (a kernel copy of 1 GiB ≈ BLAKE3 + CRC-32 of it).
So the CRC and the digest describe the bytes actually extracted, even if the archive is
written to while it is copied: a change in place then shows as a CRC that does not match
the central directory (or as a moved mtime), and the extraction is refused as before.

Where ``copy_file_range`` is missing or fails (an old kernel, a file system that refuses
it: any ``OSError``), the rest of the entry is copied with ``pread`` and ``write`` instead,
which report read and write errors as the plain path does; the read-back is the same.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from typing import Final

from mar_tools.core.archive.codec import crc32
from mar_tools.core.archive.hashing_reader import HashingReader
from mar_tools.core.mapped_range import read_back

#: Bytes copied per ``copy_file_range`` call and read back per mapping.
BLOCK: Final = 16 << 20
#: A stored entry at least this large is copied by the kernel (smaller ones are written
#: from the reader's buffers, where they already are).
MIN_SIZE: Final = 1 << 20
#: Blocks are whole mapping granules. The read-back is not MAP_POPULATE: mapping every page
#: up front costs this (the copying) thread about 0.16 s per GiB; faulting them in as the
#: hashing thread reads costs less (the kernel maps pages around each fault) and falls on
#: the thread that has time to spare.
_GRANULE: Final = mmap.ALLOCATIONGRANULARITY


class TargetWriteError(OSError):
    """Writing the extracted file failed (the disk's problem, not the archive's)."""


class KernelCopy:
    """Copies of stored entries from *reader*'s file into extracted files (see the module
    docstring); ``copy_file_range`` until it fails once, then ``pread`` and ``write``."""

    def __init__(self, reader: HashingReader, *, block: int | None = None) -> None:
        self._reader = reader
        block = block or BLOCK
        self._block = max(block - block % _GRANULE, _GRANULE)
        self.in_kernel = hasattr(os, "copy_file_range")
        self._buffer: bytearray | None = None
        self._crc = 0

    def crc(self) -> int:
        """The CRC-32 of the bytes the last :meth:`copy` yielded (once they all were)."""
        self._reader.settle()
        return self._crc

    def _add_crc(self, data: memoryview) -> None:
        self._crc = crc32(data, self._crc)

    def copy(self, fd: int, count: int) -> Iterator[memoryview]:
        """Place the reader's next *count* bytes at the start of the empty file *fd* (open
        for reading and writing), moving the reader past them; yield them in order, as
        they now are in *fd* (each view valid until the next is asked for). Fewer when the
        archive ends first. Their CRC-32 is computed on the hashing thread, beside their
        hash: :meth:`crc` waits for it. Raises :class:`TargetWriteError` when *fd* cannot
        be written; read errors of the archive pass through as ``OSError``."""
        placed = self._crc = 0
        for piece in self._reader.buffered(count):  # already read: written as they are
            _write_all(fd, piece)
            self._add_crc(piece)
            placed += len(piece)
            yield piece
        while placed < count:
            got = self._place(fd, self._reader.position, placed, min(self._block, count - placed))
            if not got:
                return
            view = read_back(fd, placed, got)
            self._reader.hand_over(view, self._add_crc)
            placed += got
            yield view

    def _place(self, fd: int, source: int, target: int, count: int) -> int:
        """Copy up to *count* bytes from offset *source* of the archive to offset *target*
        of *fd*; the bytes copied (0 at the archive's end)."""
        if self.in_kernel:
            try:
                return os.copy_file_range(self._reader.fd, fd, count, source, target)
            except OSError:
                self.in_kernel = False  # unsupported here: the plain copy says what failed
        if self._buffer is None:
            self._buffer = bytearray(self._block)
        view = memoryview(self._buffer)[:count]
        got = os.preadv(self._reader.fd, [view], source)
        os.lseek(fd, target, os.SEEK_SET)
        _write_all(fd, view[:got])
        return got


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        try:
            written = os.write(fd, data)
        except OSError as exc:
            raise TargetWriteError(exc.errno, exc.strerror) from exc
        data = data[written:]
