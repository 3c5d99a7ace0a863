"""Byte-level reading of a pickle stream: opcode arguments, with offsets and limits.

Reads the stream in chunks and parses from memory (a method call per opcode, not a stream
read per byte). Long arguments (tensor bytes inside a pickle) are skipped, never held,
except bytes that start like a zip file or a binary pickle: those may be a torch file that
the pickle loads (``torch.storage._load_from_bytes``), so up to :data:`NESTED_LIMIT` of
them are kept.
"""

from __future__ import annotations

import struct
from typing import IO, Final, cast

from mar_tools.core.pickle.opcodes import ArgKind

#: Strings longer than this are skipped (a global's name is never this long).
MAX_KEPT_STRING: Final = 4096
#: A text argument (protocol 0) longer than this makes the pickle malformed for us.
MAX_LINE: Final = 1 << 16
#: Largest zip-like argument kept whole, and most such bytes kept per stream.
NESTED_LIMIT: Final = 64 << 20
NESTED_TOTAL: Final = 256 << 20
ZIP_MAGIC: Final = b"PK\x03\x04"
#: How a nested torch file starts: a zip or a binary pickle, as bytes or as the UTF-8 form
#: of latin-1 text (protocol 2 writes bytes as text for ``_codecs.encode``).
NESTED_HEADS: Final = (
    ZIP_MAGIC,
    *(bytes([0x80, proto]) for proto in range(2, 6)),
    *(bytes([0xC2, 0x80, proto]) for proto in range(2, 6)),
)
CHUNK: Final = 1 << 20

_FIXED: Final = {
    "u1": struct.Struct("<B"),
    "u2": struct.Struct("<H"),
    "u4": struct.Struct("<I"),
    "i4": struct.Struct("<i"),
    "u8": struct.Struct("<Q"),
    "f8": struct.Struct(">d"),  # BINFLOAT is big-endian, unlike every other argument
}
_COUNTED: Final = {
    "n1": struct.Struct("<B"),
    "n4s": struct.Struct("<i"),
    "n4u": struct.Struct("<I"),
    "n8": struct.Struct("<Q"),
}


class Malformed(Exception):
    """The stream is not a pickle the unpickler would accept."""


class Reader:
    """Reads *stream* from its current position; :attr:`offset` counts bytes consumed.

    With *max_bytes*, reading past that many bytes raises :class:`Malformed` (for data that
    may well not be a pickle at all, whose random "lengths" would make the reader skip to
    the end of a large file). The stream may be read ahead of :attr:`offset`.
    """

    def __init__(self, stream: IO[bytes], max_bytes: int | None = None) -> None:
        self._stream = stream
        self._max = max_bytes
        self._buf = b""
        self._pos = 0
        self._base = 0  # stream offset of _buf[0]
        self._kept = 0

    @property
    def offset(self) -> int:
        return self._base + self._pos

    def _fill(self, count: int) -> None:
        """Make at least *count* bytes available from :attr:`offset`, or raise."""
        if self._max is not None and self.offset + count > self._max:
            raise Malformed(f"longer than {self._max} bytes")
        parts = [self._buf[self._pos :]]
        have = len(parts[0])
        while have < count:
            want = max(CHUNK, count - have)
            if self._max is not None:
                want = max(count - have, min(want, self._max - self.offset - have))
            chunk = self._stream.read(want)
            if not chunk:
                raise Malformed("unexpected end of data")
            parts.append(chunk)
            have += len(chunk)
        self._base += self._pos
        self._buf = b"".join(parts)
        self._pos = 0

    def byte(self) -> int:
        """The next byte."""
        pos = self._pos
        if pos >= len(self._buf):
            self._fill(1)
            pos = 0
        self._pos = pos + 1
        return self._buf[pos]

    def read(self, count: int) -> bytes:
        """The next *count* bytes."""
        pos = self._pos
        if pos + count > len(self._buf):
            self._fill(count)
            pos = 0
        self._pos = pos + count
        return self._buf[pos : pos + count]

    def peek_byte(self) -> int | None:
        """The next byte without consuming it; None at the end of the stream."""
        if self._pos >= len(self._buf):
            try:
                self._fill(1)
            except Malformed:
                return None
        return self._buf[self._pos]

    def skip(self, count: int) -> None:
        """Consume *count* bytes without keeping them."""
        while count > 0:
            buffered = len(self._buf) - self._pos
            if buffered == 0:
                self._fill(min(count, CHUNK))
                continue
            step = min(count, buffered)
            self._pos += step
            count -= step

    def line(self) -> bytes:
        """The bytes up to the next newline (consumed, not returned)."""
        start = self._pos
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                value = self._buf[self._pos : end]
                self._pos = end + 1
                return value
            if len(self._buf) - self._pos > MAX_LINE:
                raise Malformed("text argument too long")
            start = len(self._buf) - self._pos
            self._fill(len(self._buf) - self._pos + 1)

    def argument(self, kind: ArgKind) -> object:
        """The argument of an opcode: an int or float, a line, a pair of lines, or the bytes
        of a counted argument (None when it was too long to keep)."""
        fixed = _FIXED.get(kind)
        if fixed is not None:
            return self._unpack(fixed)
        if kind == "line":
            return self.line()
        if kind == "line2":
            return (_utf8(self.line()), _utf8(self.line()))
        length = cast(int, self._unpack(_COUNTED[kind]))
        if length < 0:
            raise Malformed("negative length")
        if length <= MAX_KEPT_STRING:
            return self.read(length)
        if self._keeps(length):
            self._kept += length
            return self.read(length)
        self.skip(length)
        return None

    def _unpack(self, fixed: struct.Struct) -> object:
        pos = self._pos
        if pos + fixed.size > len(self._buf):
            self._fill(fixed.size)
            pos = 0
        self._pos = pos + fixed.size
        return fixed.unpack_from(self._buf, pos)[0]

    def _keeps(self, length: int) -> bool:
        """True for a long argument that may be a nested torch file and fits the limits."""
        if length > NESTED_LIMIT or self._kept + length > NESTED_TOTAL:
            return False
        if len(self._buf) - self._pos < 4:
            self._fill(4)
        return self._buf.startswith(NESTED_HEADS, self._pos)


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed("GLOBAL names are not UTF-8") from exc
