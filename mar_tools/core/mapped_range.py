"""Bytes of an open file seen through a read-only memory map: what was just written, checked
as it is now on disk, without copying it into Python.

Both writers that copy in the kernel (``copy_file_range``) use it to compute the CRC-32 of
what they wrote: the archiver's stored entries and ``mar run``'s first extraction.
Standard library only, so that the archiver's start-up does not pay for the archive views.
"""

from __future__ import annotations

import mmap


def read_back(fd: int, offset: int, count: int) -> memoryview:
    """*count* bytes of *fd* from *offset*, mapped read-only and shared, not copied (the
    mapping goes when the view does)."""
    start = offset - offset % mmap.ALLOCATIONGRANULARITY
    mapping = mmap.mmap(fd, offset - start + count, mmap.MAP_SHARED, mmap.PROT_READ, offset=start)
    return memoryview(mapping)[offset - start :]
