"""Byte-level reading of a pickle stream for the inert evaluator: opcode arguments, decoded.

The stream is read in blocks and parsed from memory. Every read is bounded: a pickle larger
than the caller allows, a text argument longer than :data:`MAX_LINE`, or bytes past the end
of the stream make the pickle :class:`Malformed`. Long string and bytes arguments are not
kept: they are skipped and stand as :class:`Skipped` (their length only).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO, Final

from mar_tools.core.pickle.opcodes import ArgKind

#: A text argument (protocols 0 and 1) longer than this makes the pickle malformed.
MAX_LINE: Final = 1 << 16
BLOCK: Final = 1 << 16

_FIXED: Final = {
    "u1": struct.Struct("<B"),
    "u2": struct.Struct("<H"),
    "u4": struct.Struct("<I"),
    "i4": struct.Struct("<i"),
    "u8": struct.Struct("<Q"),
    "f8": struct.Struct(">d"),  # BINFLOAT is big-endian
}
_COUNTED: Final = {
    "n1": struct.Struct("<B"),
    "n4s": struct.Struct("<i"),
    "n4u": struct.Struct("<I"),
    "n8": struct.Struct("<Q"),
}


class Malformed(Exception):
    """The bytes are not a pickle the evaluator can follow (or break one of its limits)."""


@dataclass(frozen=True)
class Skipped:
    """A string or bytes argument too long to keep: only its length is known."""

    length: int


class PickleReader:
    """Reads opcodes and their arguments from *stream*, at most *max_bytes* in all.

    ``offset`` counts the bytes consumed so far (the stream itself may have been read
    further ahead), so a caller can tell where a pickle ended. Arguments longer than
    *keep* bytes are skipped.
    """

    def __init__(self, stream: IO[bytes], *, max_bytes: int, keep: int) -> None:
        self._stream = stream
        self._max = max_bytes
        self._keep = keep
        self._buffer = b""
        self._position = 0
        self.offset = 0

    def _take(self, count: int) -> bytes:
        if self.offset + count > self._max:
            raise Malformed(f"longer than {self._max} bytes")
        end = self._position + count
        if end > len(self._buffer):
            self._fill(count)
            end = self._position + count
        data = self._buffer[self._position : end]
        self._position = end
        self.offset += count
        return data

    def _fill(self, count: int) -> None:
        parts = [self._buffer[self._position :]]
        have = len(parts[0])
        while have < count:
            block = self._stream.read(max(BLOCK, count - have))
            if not block:
                raise Malformed("unexpected end of data")
            parts.append(block)
            have += len(block)
        self._buffer = b"".join(parts)
        self._position = 0

    def _skip(self, count: int) -> None:
        while count > 0:
            step = min(count, 1 << 20)
            self._take(step)
            count -= step

    def byte(self) -> int:
        """The next byte (an opcode)."""
        return self._take(1)[0]

    def at_end(self) -> bool:
        """True when the stream has no more bytes."""
        if self._position < len(self._buffer):
            return False
        block = self._stream.read(BLOCK)
        self._buffer, self._position = block, 0
        return not block

    def line(self) -> bytes:
        """A newline-terminated text argument, without its newline."""
        out = bytearray()
        while True:
            char = self._take(1)
            if char == b"\n":
                return bytes(out)
            out += char
            if len(out) > MAX_LINE:
                raise Malformed("text argument too long")

    def argument(self, kind: ArgKind) -> object:
        """The argument of an opcode whose argument is of *kind*, decoded: an int or float,
        ``bytes`` (counted or text arguments), a pair of lines, or :class:`Skipped`."""
        fixed = _FIXED.get(kind)
        if fixed is not None:
            return fixed.unpack(self._take(fixed.size))[0]
        if kind == "line":
            return self.line()
        if kind == "line2":
            return (self.line(), self.line())
        counted = _COUNTED[kind]
        length = int(counted.unpack(self._take(counted.size))[0])
        if length < 0:
            raise Malformed("negative length")
        if length > self._keep:
            self._skip(length)
            return Skipped(length)
        return self._take(length)
