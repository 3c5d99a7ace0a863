"""Reading a ``.tar.gz`` once from start to end, within the limits.

A gzip'd tar has no index: listing it (``mar validate``) and extracting it (``mar run``) both
read the whole stream in order. :func:`tar_members` is that one pass for both: it inflates
the stream, yields each member with a stream of its bytes, and meters the expansion with
:class:`~mar_tools.core.limits.TarMeter`, so a decompression bomb (a gzip bomb, a sparse
member declaring gigabytes, a flood of members) stops with
:class:`~mar_tools.core.limits.LimitExceeded` as soon as it crosses a limit, before its
bytes are read out, let alone written. At the end it reads the gzip stream to its end, so
that its CRC and length are checked.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Generator, Iterator
from typing import IO, cast

from mar_tools.core.archive.read_ahead import read_ahead
from mar_tools.core.limits import Limits, TarMeter

#: How much tarfile reads at a time in the one pass (a multiple of its 512-byte blocks).
RECORD = 1 << 20
#: What the gzip layer reads from: an archive file's reader, or the hashing reader.
Source = io.RawIOBase | IO[bytes]


def gzip_reader(raw: Source) -> IO[bytes]:
    """A gzip reader of *raw*: isal's (several times faster) when installed, else the
    stdlib's."""
    try:
        from isal import igzip
    except ImportError:  # pragma: no cover - isal is an optional speed-up
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    return cast(IO[bytes], igzip.GzipFile(fileobj=raw, mode="rb"))  # type: ignore[no-untyped-call]


class _Metered(io.RawIOBase):
    """The inflated stream, given as pieces, telling the meter how far it has got after
    every read."""

    def __init__(self, pieces: Iterator[bytes], meter: TarMeter) -> None:
        super().__init__()
        self._pieces = pieces
        self._pending = memoryview(b"")
        self._meter = meter
        self._total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = memoryview(next(self._pieces, b""))
        count = min(len(buffer), len(self._pending))
        memoryview(buffer)[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._total += count
        self._meter.inflated(self._total)
        return count


def tar_members(
    raw: Source, limits: Limits, archive_size: int, where: str, *, ahead: bool = False
) -> Generator[tuple[tarfile.TarInfo, IO[bytes] | None], None, None]:
    """Each member of the tar.gz whose compressed bytes *raw* yields, in order, with a stream
    of its bytes (regular files only; valid until the next member is asked for).

    *archive_size* is the compressed size (the ratio's denominator) and *where* the name
    put in messages. With *ahead*, the gzip stream is inflated on a worker thread, a few
    records ahead of the tar parsing (:mod:`.read_ahead`). Raises
    :class:`~mar_tools.core.limits.LimitExceeded` when a limit is crossed, and what tarfile,
    gzip, zlib or the OS raise on damaged input (see
    :data:`~mar_tools.core.archive.view.READ_ERRORS`).
    """
    meter = TarMeter(limits, archive_size, where)
    with gzip_reader(raw) as gz:
        pieces: Iterator[bytes] = iter(lambda: gz.read(RECORD), b"")
        if ahead:
            pieces = read_ahead(pieces, 4)
        try:
            yield from _members(pieces, meter)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # stops a read-ahead worker now


def _members(
    pieces: Iterator[bytes], meter: TarMeter
) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    stream = io.BufferedReader(_Metered(pieces, meter), buffer_size=RECORD)
    # Large records: tarfile skips a member's data (and reads its header) in records of
    # this size, each a Python call; the default 10 KiB costs ~100,000 calls per GiB.
    with tarfile.open(fileobj=stream, mode="r|", bufsize=RECORD) as tar:
        for info in tar:
            meter.member(info.size)
            yield info, tar.extractfile(info) if info.isreg() else None
    # Read to the end of the gzip stream so that its CRC and length are checked.
    while stream.read(1 << 20):
        pass
