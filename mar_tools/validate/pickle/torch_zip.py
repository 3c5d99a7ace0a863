"""Find the pickles inside a zip-format file (torch.save / torch.jit.save output).

torch writes its zip with data descriptors and no sizes in the local headers, so the
pickles (``<name>/data.pkl``, ``constants.pkl``...) can only be located through the
central directory at the end. Two ways in:

* a seekable source (a file, a STORED archive entry): :mod:`zipfile` reads the index and
  the pickles directly;
* a stream (a DEFLATED archive entry, a tar member) is read once, start to end: bytes after
  every local header whose name ends in ``.pkl`` are captured (bounded), the tail is kept,
  and the index in the tail then says which captures are real entries and how long they
  are. Nothing is read twice and tensor data is never kept.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from mar_tools.core.archive import READ_ERRORS, TailFile
from mar_tools.core.archive.codec import INFLATE_ERRORS, new_inflater
from mar_tools.validate.pickle.signature_search import signature_positions

PICKLE_SUFFIXES = (".pkl", ".debug_pkl")
LOCAL_SIGNATURE = b"PK\x03\x04"
#: How many bytes after a candidate local header are captured.
CAPTURE_LIMIT = 64 << 20
#: How many captured bytes are held in all.
CAPTURE_TOTAL = 256 << 20
#: How many bytes at the end of the stream are kept for the central directory.
TAIL_LIMIT = 8 << 20
#: Longest entry name considered when looking for local headers across chunk borders.
MAX_NAME = 1024
#: Bytes a local header with its name can span: what is kept from one chunk to the next.
HEADER_REACH = 30 + MAX_NAME
CHUNK = 4 << 20


@dataclass(frozen=True)
class InnerPickle:
    """One pickle entry of the zip: its bytes as a stream, or why it could not be read."""

    name: str
    stream: IO[bytes] | None
    problem: str | None = None
    #: True when only the first :data:`CAPTURE_LIMIT` bytes could be kept.
    partial: bool = False


class InnerZipError(Exception):
    """The zip's index cannot be read (torch.load would fail too)."""


def is_torchscript(names: list[str]) -> bool:
    """True for a zip that ``torch.load`` hands to ``torch.jit.load`` (and so to torch's C++
    unpickler): one with a ``constants.pkl`` record under its top directory."""
    return any(name.partition("/")[2] == "constants.pkl" for name in names)


def is_pickle_entry(name: str) -> bool:
    """True for an entry scanned as a pickle; torch finds records by name ignoring case
    (``ARCHIVE/DATA.PKL`` is its ``data.pkl``), so the suffix is matched the same way."""
    return name.lower().endswith(PICKLE_SUFFIXES)


def pickles_in_seekable(source: IO[bytes]) -> tuple[list[str], Iterator[InnerPickle]]:
    """All entry names, and the pickle entries, of the seekable zip *source*."""
    try:
        archive = zipfile.ZipFile(source)
        infos = archive.infolist()
    except READ_ERRORS as exc:
        raise InnerZipError(str(exc) or type(exc).__name__) from exc

    def entries() -> Iterator[InnerPickle]:
        for info in infos:
            if is_pickle_entry(info.filename):
                try:
                    yield InnerPickle(info.filename, archive.open(info))
                except READ_ERRORS as exc:
                    yield InnerPickle(info.filename, None, str(exc))

    return [info.filename for info in infos], entries()


def pickles_in_stream(stream: IO[bytes]) -> tuple[list[str], Iterator[InnerPickle]]:
    """All entry names, and the pickle entries, of the zip read once from *stream*."""
    return pickles_in_chunks(iter(lambda: stream.read(CHUNK), b""))


def pickles_in_chunks(
    chunks: Iterable[bytes | memoryview],
) -> tuple[list[str], Iterator[InnerPickle]]:
    """:func:`pickles_in_stream` of the zip whose bytes are *chunks*, in order, of any sizes
    (the result does not depend on where they are cut). Chunks must stay valid once given:
    the last few are kept, not copied, for the index."""
    capture = _Capture()
    for chunk in chunks:
        if chunk:
            capture.feed(chunk)
    try:
        archive = zipfile.ZipFile(TailFile(capture.tail, capture.total))
        infos = archive.infolist()
    except READ_ERRORS as exc:
        raise InnerZipError(str(exc) or type(exc).__name__) from exc

    def entries() -> Iterator[InnerPickle]:
        for info in infos:
            if is_pickle_entry(info.filename):
                yield _captured(info, capture.found.get(info.header_offset))

    return [info.filename for info in infos], entries()


def _captured(info: zipfile.ZipInfo, found: tuple[int, bytearray] | None) -> InnerPickle:
    if found is None:
        return InnerPickle(info.filename, None, "its local header was not found")
    skip, data = found
    raw = bytes(data[skip : skip + info.compress_size])
    if len(raw) < info.compress_size:
        if info.compress_type != zipfile.ZIP_STORED:
            return InnerPickle(info.filename, None, "too large to capture")
        return InnerPickle(info.filename, io.BytesIO(raw), partial=True)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        try:
            raw = new_inflater().decompress(raw)
        except INFLATE_ERRORS as exc:
            return InnerPickle(info.filename, None, f"cannot be inflated ({exc})")
    elif info.compress_type != zipfile.ZIP_STORED:
        return InnerPickle(info.filename, None, f"compression method {info.compress_type}")
    return InnerPickle(info.filename, io.BytesIO(raw))


class _Capture:
    """Scans chunks for local headers of pickle entries and keeps what follows them.

    A capture runs from a pickle entry's local header to the next plausible local header
    (torch writes entries back to back), and holds at most :data:`CAPTURE_LIMIT` bytes;
    all captures together hold at most :data:`CAPTURE_TOTAL`. Chunks are searched where
    they are: only the few bytes around each border are copied.
    """

    def __init__(self) -> None:
        self.total = 0
        #: local header offset -> (bytes before the data, captured bytes from the header).
        self.found: dict[int, tuple[int, bytearray]] = {}
        self._open: dict[int, bytearray] = {}
        self._held = 0
        self._carry = b""
        self._tail: list[bytes | memoryview] = []
        self._tail_size = 0

    @property
    def tail(self) -> bytes:
        return b"".join(self._tail)

    def feed(self, chunk: bytes | memoryview) -> None:
        window = _Window(self._carry, chunk, self.total)
        headers = window.headers()
        for start in list(self._open):
            self._extend(start, window, headers)
        for offset, is_pickle in headers:
            if is_pickle and offset not in self.found and self._held < CAPTURE_TOTAL:
                self.found[offset] = (_data_skip(window.get(offset, offset + 30)), bytearray())
                self._open[offset] = self.found[offset][1]
                self._extend(offset, window, headers)
        self._carry = window.last(HEADER_REACH)
        self.total += len(chunk)
        self._tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(self._tail[0]) >= TAIL_LIMIT:
            self._tail_size -= len(self._tail.pop(0))

    def _extend(self, start: int, window: _Window, headers: list[tuple[int, bool]]) -> None:
        """Grow the capture at *start* with the window's bytes, closing it when it ends."""
        buffer = self._open[start]
        stop = next((offset for offset, _ in headers if offset > start), None)
        end = window.end if stop is None else stop
        have = start + len(buffer)
        if end < have:  # a header completed only now lies inside what was captured
            self._held -= have - end
            del buffer[end - start :]
        else:
            room = max(min(CAPTURE_LIMIT - len(buffer), CAPTURE_TOTAL - self._held), 0)
            piece = window.get(have, min(end, have + room))
            buffer += piece
            self._held += len(piece)
        if stop is not None or len(buffer) >= CAPTURE_LIMIT or self._held >= CAPTURE_TOTAL:
            del self._open[start]


class _Window:
    """The bytes kept from earlier chunks (*carry*) followed by *chunk*, addressed by offsets
    in the whole stream, without joining them."""

    def __init__(self, carry: bytes, chunk: bytes | memoryview, chunk_start: int) -> None:
        self.carry = carry
        self.chunk = chunk
        self.chunk_start = chunk_start
        self.start = chunk_start - len(carry)
        self.end = chunk_start + len(chunk)

    def get(self, low: int, high: int) -> bytes:
        """The stream's bytes from *low* to *high* (within the window)."""
        if low >= self.chunk_start:
            return bytes(self.chunk[low - self.chunk_start : high - self.chunk_start])
        head = self.carry[low - self.start : high - self.start]
        if high <= self.chunk_start:
            return head
        return head + bytes(self.chunk[: high - self.chunk_start])

    def last(self, count: int) -> bytes:
        """The window's last *count* bytes (all of it when shorter)."""
        if len(self.chunk) >= count:
            return bytes(self.chunk[len(self.chunk) - count :])
        return self.get(max(self.start, self.end - count), self.end)

    def headers(self) -> list[tuple[int, bool]]:
        """(stream offset, names a pickle) of each complete, plausible local header that
        starts in the window, in order. A header cut by the window's end is found again
        with the next chunk (the carry keeps the last :data:`HEADER_REACH` bytes)."""
        border = self.carry + bytes(self.chunk[:HEADER_REACH])
        found = [
            header
            for header in _complete_headers(border, signature_positions(border, LOCAL_SIGNATURE))
            if header[0] < len(self.carry)
        ]
        in_chunk = _complete_headers(self.chunk, signature_positions(self.chunk, LOCAL_SIGNATURE))
        return [(self.start + offset, is_pickle) for offset, is_pickle in found] + [
            (self.chunk_start + offset, is_pickle) for offset, is_pickle in in_chunk
        ]


def _complete_headers(data: bytes | memoryview, positions: list[int]) -> list[tuple[int, bool]]:
    """(position, names a pickle) of the local headers at *positions* of *data* whose name
    lies within *data*, with a plausible name length."""
    found = []
    for position in positions:
        if position > len(data) - 30:
            break
        name_len = int.from_bytes(data[position + 26 : position + 28], "little")
        name_end = position + 30 + name_len
        if 0 < name_len <= MAX_NAME and name_end <= len(data):
            name = bytes(data[position + 30 : name_end]).decode("latin-1")
            found.append((position, is_pickle_entry(name)))
    return found


def _data_skip(header: bytes) -> int:
    """Bytes from a local header's start to its data (from the header's first 30 bytes)."""
    name_len = int.from_bytes(header[26:28], "little")
    extra_len = int.from_bytes(header[28:30], "little")
    return 30 + name_len + extra_len
