"""Where a member's bytes come from: a file on disk, or a member of an open archive.

A build reads its members from the input files; ``mar repack`` reads them from another
archive, through the core's read-only views. The writers see one of two sources:

* :class:`FileData`: ``size`` bytes at ``offset`` of a file on disk. An input file
  (offset 0), a directory archive's file, or a STORED zip member read in place: the kernel
  copies it (``copy_file_range``) and the writer checks the CRC it records against ``crc``.
* :class:`StreamData`: bytes produced by a stream (a DEFLATED zip member, a tar.gz member),
  inflated and checked as they are read. Where a writer needs random access (a large zip
  entry: samples decide whether to deflate it, chunks are compressed in parallel), the
  stream is first copied into an anonymous temporary file.

Either way, a source that does not yield exactly ``size`` bytes, or whose file changes size
while it is read, fails the build with :class:`SourceChangedError` and nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final

from mar_tools.core.record import record
from torch_model_archiver.errors import SourceChangedError

_COPY: Final = 1 << 20


@record
class FileData:
    """``size`` bytes at ``offset`` of the file at ``path``, which must keep ``file_size``
    bytes while it is read (None: exactly ``offset + size``); ``crc``: the CRC-32 the bytes
    must have, when known (an archive member's)."""

    path: Path
    offset: int = 0
    file_size: int | None = None
    crc: int | None = None


@record
class StreamData:
    """Bytes read from a fresh stream that ``open`` returns (it may be called again)."""

    open: Callable[[], IO[bytes]]


MemberData = FileData | StreamData


@record
class RandomAccess:
    """An open file descriptor holding a member's bytes from ``offset``; ``file_size`` is
    what the file must still hold when the member has been read (see :func:`check_size`)."""

    fd: int
    offset: int
    file_size: int
    crc: int | None


def changed(label: Path) -> SourceChangedError:
    return SourceChangedError(
        f"{label} changed size while it was being archived; nothing was written.",
        hint="run again once whatever writes that file has finished.",
    )


def damaged(label: Path, found: int, expected: int) -> SourceChangedError:
    return SourceChangedError(
        f"{label}: its bytes have CRC-32 {found:08x}, not the {expected:08x} recorded; the "
        "source archive is damaged and nothing was written."
    )


def read_whole(data: MemberData, size: int, label: Path) -> bytes:
    """All *size* bytes of *data* (a small member)."""
    if isinstance(data, FileData):
        with open(data.path, "rb") as source:
            source.seek(data.offset)
            raw = source.read(size)
            expected = data.offset + size if data.file_size is None else data.file_size
            if os.fstat(source.fileno()).st_size != expected:
                raise changed(label)
    else:
        with data.open() as stream:
            raw = stream.read(size + 1)
    if len(raw) != size:
        raise changed(label)
    return raw


@contextmanager
def random_access(data: MemberData, size: int, label: Path) -> Iterator[RandomAccess]:
    """*data* as a file descriptor to read at will (a stream is copied to a temporary
    file first); closed on exit."""
    if isinstance(data, FileData):
        fd = os.open(data.path, os.O_RDONLY)
        expected = data.offset + size if data.file_size is None else data.file_size
        access = RandomAccess(fd, data.offset, expected, data.crc)
    else:
        # Only a stream needs these (tempfile loads shutil, bz2, lzma, random): not a build.
        import shutil
        import tempfile

        with tempfile.TemporaryFile() as spool, data.open() as stream:
            shutil.copyfileobj(stream, spool, _COPY)
            spool.flush()
            fd = os.dup(spool.fileno())
        access = RandomAccess(fd, 0, size, None)
    try:
        check_size(access, label)
        yield access
    finally:
        os.close(fd)


def check_size(access: RandomAccess, label: Path) -> None:
    """Raise :class:`SourceChangedError` unless the file still holds ``file_size`` bytes."""
    if os.fstat(access.fd).st_size != access.file_size:
        raise changed(label)


@contextmanager
def sequential(data: MemberData, size: int, label: Path) -> Iterator[IO[bytes]]:
    """A stream of *data*'s bytes from its first; on a clean exit, raises when the source
    changed size meanwhile (the caller reads exactly *size* bytes)."""
    if isinstance(data, FileData):
        with open(data.path, "rb", buffering=0) as source:
            source.seek(data.offset)
            yield source
            expected = data.offset + size if data.file_size is None else data.file_size
            if os.fstat(source.fileno()).st_size != expected:
                raise changed(label)
    else:
        with data.open() as stream:
            yield stream
