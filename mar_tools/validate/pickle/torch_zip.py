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
    all captures together hold at most :data:`CAPTURE_TOTAL`.
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
        window = self._carry + chunk
        base = self.total - len(self._carry)
        headers = self._headers(window, base)
        for start in list(self._open):
            self._extend(start, window, base, headers)
        for offset, is_pickle in headers:
            if is_pickle and offset not in self.found and self._held < CAPTURE_TOTAL:
                self.found[offset] = (_data_skip(window, offset - base), bytearray())
                self._open[offset] = self.found[offset][1]
                self._extend(offset, window, base, headers)
        self._carry = window[-(30 + MAX_NAME) :]
        self.total += len(chunk)
        self._tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(self._tail[0]) >= TAIL_LIMIT:
            self._tail_size -= len(self._tail.pop(0))

    def _extend(
        self, start: int, window: bytes, base: int, headers: list[tuple[int, bool]]
    ) -> None:
        """Grow the capture at *start* with the window's bytes, closing it when it ends."""
        buffer = self._open[start]
        stop = next((offset for offset, _ in headers if offset > start), None)
        end = base + len(window) if stop is None else stop
        have = start + len(buffer)
        if end < have:  # a header completed only now lies inside what was captured
            self._held -= have - end
            del buffer[end - start :]
        else:
            room = min(CAPTURE_LIMIT - len(buffer), CAPTURE_TOTAL - self._held)
            piece = window[have - base : end - base][: max(room, 0)]
            buffer += piece
            self._held += len(piece)
        if stop is not None or len(buffer) >= CAPTURE_LIMIT or self._held >= CAPTURE_TOTAL:
            del self._open[start]

    def _headers(self, window: bytes, base: int) -> list[tuple[int, bool]]:
        """(absolute offset, names a pickle) of each complete, plausible local header."""
        found: list[tuple[int, bool]] = []
        position = window.find(LOCAL_SIGNATURE)
        while 0 <= position <= len(window) - 30:
            name_len = int.from_bytes(window[position + 26 : position + 28], "little")
            name_end = position + 30 + name_len
            if 0 < name_len <= MAX_NAME and name_end <= len(window):
                name = window[position + 30 : name_end]
                found.append((base + position, is_pickle_entry(name.decode("latin-1"))))
            position = window.find(LOCAL_SIGNATURE, position + 1)
        return found


def _data_skip(window: bytes, position: int) -> int:
    name_len = int.from_bytes(window[position + 26 : position + 28], "little")
    extra_len = int.from_bytes(window[position + 28 : position + 30], "little")
    return 30 + name_len + extra_len
