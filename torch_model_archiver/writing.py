"""What every writer (zip, tgz, directory) shares: its settings, its record of what it wrote,
and reading a source file in pieces while making sure it does not change under us.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from mar_tools.core.record import field, record
from torch_model_archiver.compression import Backend
from torch_model_archiver.member_data import changed
from torch_model_archiver.members import ArchivePlan

__all__ = ["EntryRecord", "WriteJob", "WriteSettings", "changed", "check_unchanged", "read_at"]


@record
class WriteSettings:
    """How to write. ``deflate`` is false for ``zip-store``; ``utc`` makes ZIP timestamps
    independent of the time zone (set for reproducible builds); ``prefix`` is the tgz
    directory every name is put under.
    """

    backend: Backend
    jobs: int
    deflate: bool = True
    utc: bool = False
    prefix: str = ""
    #: Called before the first MiB-sized chunk is compressed, if one is (the command tunes
    #: the allocator there: see :func:`mar_tools.core.allocator.keep_freed_buffers`).
    before_deflating: Callable[[], object] | None = field(default=None, compare=False, repr=False)

    def deflating(self) -> None:
        """Large chunks are about to be compressed: call :attr:`before_deflating` (once per
        large entry: the command's hook acts on the first call only)."""
        if self.before_deflating is not None:
            self.before_deflating()


@record
class EntryRecord:
    """One entry as written: its name in the archive, input size, size in the archive."""

    name: str
    size: int
    stored_size: int
    method: Literal["stored", "deflated", "copied"]


@record
class WriteJob:
    """Everything a writer needs: the plan, the manifest bytes and its timestamp."""

    plan: ArchivePlan
    manifest: bytes
    manifest_mtime: float


def read_at(fd: int, size: int, offset: int, source: Path) -> bytes:
    """Exactly *size* bytes of *fd* from *offset*; a short read means the file shrank."""
    data = os.pread(fd, size, offset)
    if len(data) != size:
        data += _read_rest(fd, size - len(data), offset + len(data))
    if len(data) != size:
        raise changed(source)
    return data


def _read_rest(fd: int, size: int, offset: int) -> bytes:
    parts = []
    while size > 0:
        part = os.pread(fd, size, offset)
        if not part:
            break
        parts.append(part)
        size -= len(part)
        offset += len(part)
    return b"".join(parts)


def check_unchanged(fd: int, size: int, source: Path) -> None:
    """Raise :class:`SourceChangedError` unless the file still holds *size* bytes."""
    if os.fstat(fd).st_size != size:
        raise changed(source)
