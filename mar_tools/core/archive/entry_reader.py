"""Read one zip entry's bytes straight from the archive file and check them.

Python's ``ZipFile.open`` reads in small pieces and computes the CRC with the slow zlib
routine; here the compressed bytes are read in large blocks into one reused buffer, a
STORED entry is CRC'd in place, and DEFLATED data is inflated with the fastest decoder
available (:mod:`mar_tools.core.archive.codec`). Output is bounded by the declared size, so a
lying header cannot make the reader inflate without end.

:class:`EntryStream` is a pull stream: a consumer (the pickle scanner) reads as much as it
wants, then :meth:`EntryStream.finish` reads the rest and reports what was wrong.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from mar_tools.core.archive.codec import INFLATE_ERRORS, crc32, new_inflater

BLOCK = 8 << 20
#: DEFLATED input is fed in smaller pieces so one piece cannot expand unboundedly.
INFLATE_BLOCK = 1 << 20
#: Most decompressed bytes produced by one inflate call.
INFLATE_OUTPUT = 32 << 20


@dataclass(frozen=True)
class EntryProblem:
    """What was wrong with an entry's bytes: ``code`` is a catalog code."""

    code: str
    message: str


class EntryStream(io.RawIOBase):
    """The decompressed bytes of one entry, checked against its CRC and declared size.

    *archive* is the archive file opened unbuffered (``open(path, "rb", buffering=0)``);
    *method* 0 (STORED) or 8 (DEFLATED); the data starts at *offset* and is
    *compressed_size* bytes long.
    """

    def __init__(
        self,
        archive: io.RawIOBase,
        offset: int,
        compressed_size: int,
        size: int,
        crc: int,
        method: int,
    ) -> None:
        super().__init__()
        self._archive = archive
        self._offset = offset
        self._compressed = compressed_size
        self._size = size
        self._expected_crc = crc
        self._method = method
        self._crc = 0
        self._produced = 0
        self._buffer = bytearray(BLOCK if method == 0 else INFLATE_BLOCK)
        self._chunks = self._generate()
        self._pending = memoryview(b"")
        self.problem: EntryProblem | None = None

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

    def finish(self) -> EntryProblem | None:
        """Read what is left, check CRC and sizes; return the problem found, or None."""
        self._pending = memoryview(b"")
        for _ in self._chunks:
            pass
        return self.problem

    def _generate(self) -> Iterator[memoryview]:
        chunks = self._stored() if self._method == 0 else self._inflated()
        for chunk in chunks:
            self._produced += len(chunk)
            if self._produced > self._size:
                declared = f"the {self._size} bytes declared"
                self._fail("entry.corrupt", f"decompresses to more than {declared}")
                return
            self._crc = crc32(chunk, self._crc)
            yield chunk
        if self.problem is not None:
            return
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

    def _read_raw(self) -> Iterator[memoryview]:
        view = memoryview(self._buffer)
        done = 0
        while done < self._compressed:
            want = min(len(self._buffer), self._compressed - done)
            self._archive.seek(self._offset + done)
            got = self._archive.readinto(view[:want]) or 0
            if got <= 0:
                self._fail("entry.corrupt", "the archive ends inside this entry's data")
                return
            done += got
            yield view[:got]

    def _stored(self) -> Iterator[memoryview]:
        yield from self._read_raw()

    def _inflated(self) -> Iterator[memoryview]:
        inflater = new_inflater()
        try:
            for piece in self._read_raw():
                if inflater.eof:
                    self._fail("entry.corrupt", "has bytes after the end of its deflate stream")
                    return
                data: bytes | memoryview = piece
                while data:
                    out = inflater.decompress(data, INFLATE_OUTPUT)
                    if not out and len(inflater.unconsumed_tail) == len(data):
                        break  # no progress: let the end-of-stream checks report it
                    data = inflater.unconsumed_tail
                    if out:
                        yield memoryview(out)
                if inflater.unused_data:
                    self._fail("entry.corrupt", "has bytes after the end of its deflate stream")
                    return
        except INFLATE_ERRORS as exc:
            self._fail("entry.corrupt", f"cannot be inflated ({exc})")
            return
        if self.problem is None and not inflater.eof:
            self._fail("entry.corrupt", "its deflate stream is truncated")

    def _fail(self, code: str, message: str) -> None:
        if self.problem is None:
            self.problem = EntryProblem(code, message)
