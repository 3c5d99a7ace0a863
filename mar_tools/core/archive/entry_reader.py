"""Read one zip entry's bytes straight from the archive file and check them.

Python's ``ZipFile.open`` reads in small pieces and computes the CRC with the slow zlib
routine; here the compressed bytes are read in large blocks into one reused buffer, a
STORED entry is CRC'd in place, and DEFLATED data is inflated with the fastest decoder
available (:mod:`mar_tools.core.archive.codec`; with isal the CRC is computed by the
decoder in the same pass), in pieces of :data:`INFLATE_OUTPUT` bytes that stay in the CPU's
cache while they are checked and scanned. A large DEFLATED entry is inflated on a worker
thread a few pieces ahead of its consumer (:mod:`.read_ahead`), so decoding and scanning
use two cores. Output is bounded by the declared size, so a lying header cannot make the
reader inflate without end.

:class:`EntryStream` is a pull stream: a consumer (the pickle scanner) reads as much as it
wants, then :meth:`EntryStream.finish` reads the rest and reports what was wrong.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Generator, Iterable, Iterator

from mar_tools.core.archive.codec import INFLATE_ERRORS, StreamInflater, crc32, new_stream_inflater
from mar_tools.core.archive.problem import Problem

BLOCK = 8 << 20
#: DEFLATED input is fed in smaller pieces so one piece cannot expand unboundedly.
INFLATE_BLOCK = 1 << 20
#: Most decompressed bytes produced by one inflate call: small enough to stay in the
#: cache while it is checked, and to be reused by the allocator instead of mapped afresh.
INFLATE_OUTPUT = 1 << 20
#: A DEFLATED entry at least this large is inflated on a worker thread (:mod:`.read_ahead`).
READ_AHEAD_SIZE = 8 << 20
#: How many pieces the worker may run ahead.
READ_AHEAD_DEPTH = 4


#: What was wrong with an entry's bytes (``entry.corrupt`` or ``entry.crc-mismatch``).
EntryProblem = Problem


class EntryStream(io.RawIOBase):
    """The decompressed bytes of one entry, checked against its CRC and declared size.

    *raw* yields the entry's compressed bytes, *compressed_size* of them (fewer means the
    archive ends inside the entry); *method* is 0 (STORED) or 8 (DEFLATED). Each chunk *raw*
    yields is used before the next one is asked for, so a reader may reuse its buffer.
    :meth:`at` reads them from a position of an archive file. With *ahead* (the default) a
    large DEFLATED entry is inflated on a worker thread; a caller that already keeps every
    core busy (several entries checked side by side) passes False.
    """

    def __init__(
        self,
        raw: Iterable[memoryview],
        compressed_size: int,
        size: int,
        crc: int,
        method: int,
        *,
        crc_of_raw: Callable[[], int] | None = None,
        ahead: bool = True,
    ) -> None:
        super().__init__()
        self._ahead = ahead
        self._raw = raw
        self._compressed = compressed_size
        self._size = size
        self._expected_crc = crc
        self._method = method
        # For a STORED entry, the CRC-32 of all of *raw*, computed by its producer (asked
        # for once *raw* is exhausted) instead of here, chunk by chunk.
        self._crc_of_raw = crc_of_raw if method == 0 else None
        self._crc = 0
        self._produced = 0
        self._inflater: StreamInflater | None = None
        #: What went wrong, in the order found (the worker of a read-ahead appends too).
        self._problems: list[EntryProblem] = []
        self._chunks = self._generate()
        self._pending = memoryview(b"")

    @property
    def problem(self) -> EntryProblem | None:
        """The first thing found wrong with the entry's bytes, or None."""
        return self._problems[0] if self._problems else None

    @classmethod
    def at(
        cls,
        archive: io.RawIOBase,
        offset: int,
        compressed_size: int,
        size: int,
        crc: int,
        method: int,
        *,
        ahead: bool = True,
    ) -> EntryStream:
        """The entry whose data starts at *offset* of *archive* (an unbuffered, seekable
        file: ``open(path, "rb", buffering=0)`` or an archive file's reader)."""
        # No bigger than the entry: zeroing a whole block for a small one cost a millisecond.
        block = min(BLOCK if method == 0 else INFLATE_BLOCK, max(compressed_size, 0))
        raw = _positioned(archive, offset, compressed_size, bytearray(block))
        return cls(raw, compressed_size, size, crc, method, ahead=ahead)

    def chunks(self) -> Iterator[memoryview]:
        """The checked bytes, chunk by chunk (each valid until the next is asked for; a
        DEFLATED entry's stay valid); then :attr:`problem` says what was wrong, if anything.
        This is the stream's own iterator: what one consumer takes, reads and
        :meth:`finish` no longer see, and dropping it half-way does not stop the stream."""
        return self._chunks

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        count = min(len(buffer), len(self._pending))
        memoryview(buffer)[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        """Stop reading (a read-ahead worker stops too); :attr:`problem` stays as it is."""
        self._chunks.close()
        super().close()

    def finish(self) -> EntryProblem | None:
        """Read what is left, check CRC and sizes; return the problem found, or None."""
        self._pending = memoryview(b"")
        for _ in self._chunks:
            pass
        return self.problem

    def _generate(self) -> Generator[memoryview, None, None]:
        # The chunk producers are plain functions of the raw pieces: a read-ahead worker
        # holds no reference to this stream, which can be collected if abandoned.
        pieces = _read_raw(self._raw, self._compressed, self._problems)
        if self._method == 0:
            chunks: Iterator[memoryview] = pieces
        else:
            self._inflater = new_stream_inflater()
            chunks = _inflated(pieces, self._inflater, self._problems)
            if self._ahead and self._compressed >= READ_AHEAD_SIZE:
                # Imported here: a small archive's start-up needs no worker's modules.
                from mar_tools.core.archive.read_ahead import read_ahead

                chunks = read_ahead(chunks, READ_AHEAD_DEPTH)
        decoder_crc = self._inflater is not None and self._inflater.crc is not None
        decoder_crc = decoder_crc or self._crc_of_raw is not None
        try:
            for chunk in chunks:
                self._produced += len(chunk)
                if self._produced > self._size:
                    declared = f"the {self._size} bytes declared"
                    self._fail("entry.corrupt", f"decompresses to more than {declared}")
                    return
                if not decoder_crc:
                    self._crc = crc32(chunk, self._crc)
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # stops a read-ahead worker now, not when collected
        if self.problem is not None:
            return
        if self._crc_of_raw is not None:
            self._crc = self._crc_of_raw()
        elif decoder_crc and self._inflater is not None:
            self._crc = self._inflater.crc or 0
        if self._produced != self._size:
            self._fail(
                "entry.corrupt",
                f"holds {self._produced} bytes but declares {self._size}",
            )
        elif self._crc != self._expected_crc:
            self._fail(
                "entry.crc-mismatch",
                f"CRC-32 is {self._crc:08x} but {self._expected_crc:08x} is recorded",
            )

    def _fail(self, code: str, message: str) -> None:
        self._problems.append(EntryProblem(code, message))


def _read_raw(
    raw: Iterable[memoryview], compressed: int, problems: list[EntryProblem]
) -> Iterator[memoryview]:
    """The pieces of *raw*; a problem when they hold fewer than *compressed* bytes."""
    done = 0
    for piece in raw:
        done += len(piece)
        yield piece
    if done < compressed:
        problems.append(EntryProblem("entry.corrupt", "the archive ends inside this entry's data"))


def _inflated(
    pieces: Iterator[memoryview], inflater: StreamInflater, problems: list[EntryProblem]
) -> Iterator[memoryview]:
    """What *pieces* inflate to, in pieces of at most :data:`INFLATE_OUTPUT` bytes; what is
    wrong with the deflate stream is appended to *problems*."""
    trailing = EntryProblem("entry.corrupt", "has bytes after the end of its deflate stream")
    try:
        for piece in pieces:
            if inflater.eof:
                problems.append(trailing)
                return
            for out in inflater.inflate(piece, INFLATE_OUTPUT):
                yield memoryview(out)
            if inflater.unused_data:
                problems.append(trailing)
                return
    except INFLATE_ERRORS as exc:
        problems.append(EntryProblem("entry.corrupt", f"cannot be inflated ({exc})"))
        return
    if not problems and not inflater.eof:
        problems.append(EntryProblem("entry.corrupt", "its deflate stream is truncated"))


def _positioned(
    archive: io.RawIOBase, offset: int, length: int, buffer: bytearray
) -> Iterator[memoryview]:
    """*length* bytes of *archive* from *offset*, read into *buffer* (fewer at its end)."""
    view = memoryview(buffer)
    done = 0
    while done < length:
        want = min(len(buffer), length - done)
        archive.seek(offset + done)
        got = archive.readinto(view[:want]) or 0
        if got <= 0:
            return
        done += got
        yield view[:got]
