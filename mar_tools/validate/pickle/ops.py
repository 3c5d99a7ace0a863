"""Read a pickle's opcodes (protocols 0 to 5) without unpickling anything.

The reader walks the opcode stream and simulates just enough of the unpickler's stack and
memo to know every global the pickle imports: ``GLOBAL``/``INST`` name theirs in the
argument, ``STACK_GLOBAL`` takes two strings from the stack (often fetched from the memo).
A ``STACK_GLOBAL`` whose operands are not literal strings, or an extension-registry code
(``EXT1/2/4``), hides what it imports and is reported as unverifiable.

Large arguments (tensor bytes inside the pickle) are skipped, never held in memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import IO

from mar_tools.validate.pickle.opcodes import OPS, ArgKind

#: Strings longer than this are skipped (a global's name is never this long).
MAX_KEPT_STRING = 4096
#: A text argument (protocol 0) longer than this makes the pickle malformed for us.
MAX_LINE = 1 << 16
#: Consecutive pickles read from one file, each starting with PROTO.
MAX_PICKLES = 8
#: The first pickle of torch's legacy format (``_use_new_zipfile_serialization=False``) ...
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
#: ... after which torch reads exactly this many in all (magic, protocol, system info, the
#: object, the storage keys), whatever their protocol; raw storage bytes follow them.
TORCH_LEGACY_PICKLES = 5


_FIXED = {"u1": "<B", "u2": "<H", "u4": "<I", "i4": "<i", "u8": "<Q", "f8": "<d"}
_COUNTED = {"n1": "<B", "n4s": "<i", "n4u": "<I", "n8": "<Q"}
_STRING_OPS = {"UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}
_LONG_OPS = {"LONG", "LONG1", "LONG4"}


class Malformed(Exception):
    """The stream is not a pickle the unpickler would accept."""


class _Mark:
    """The stack marker pushed by MARK."""


_MARK = _Mark()
_ANY = object()


@dataclass(frozen=True)
class GlobalRef:
    """A global a pickle imports, with the byte offset of the opcode that names it."""

    module: str
    name: str
    offset: int


@dataclass
class PickleScan:
    """What one scan found: globals named, globals hidden, and a parse error if any."""

    globals: list[GlobalRef] = field(default_factory=list)
    hidden: list[tuple[str, int]] = field(default_factory=list)
    error: str | None = None
    pickles: int = 0


def scan_pickles(stream: IO[bytes], max_bytes: int | None = None) -> PickleScan:
    """Scan the pickle at the start of *stream*, and those directly following it.

    Never raises for bad input: a parse failure is returned in :attr:`PickleScan.error`,
    and so is reaching *max_bytes* (for data that may well not be a pickle at all, whose
    random "lengths" would otherwise make the reader skip to the end of a large file).
    """
    result = PickleScan()
    reader = _Reader(stream, max_bytes)
    limit = MAX_PICKLES
    try:
        while result.pickles < limit:
            legacy = limit == TORCH_LEGACY_PICKLES
            if result.pickles and not legacy and reader.peek_byte() != 0x80:  # no PROTO
                break
            value = _scan_one(reader, result)
            if result.pickles == 0 and value == TORCH_LEGACY_MAGIC:
                limit = TORCH_LEGACY_PICKLES
            result.pickles += 1
    except Malformed as exc:
        result.error = f"{exc} (at byte {reader.offset})"
    return result


def _scan_one(reader: _Reader, result: PickleScan) -> object:
    """Read one pickle up to its STOP; return what it unpickles to when that is a str or
    an int (the placeholder otherwise)."""
    stack: list[object] = []
    memo: dict[int, object] = {}
    while True:
        start = reader.offset
        code = reader.byte()
        op = OPS.get(code)
        if op is None:
            raise Malformed(f"unknown opcode 0x{code:02x}")
        arg = reader.argument(op.arg) if op.arg else None
        if op.name == "STOP":
            return _pop(stack, 1)[0]
        if op.name in ("GLOBAL", "INST"):
            assert isinstance(arg, tuple)
            result.globals.append(GlobalRef(arg[0], arg[1], start))
        elif op.name == "STACK_GLOBAL":
            name, module = _pop(stack, 1)[0], _pop(stack, 1)[0]
            if isinstance(module, str) and isinstance(name, str):
                result.globals.append(GlobalRef(module, name, start))
            else:
                result.hidden.append(("STACK_GLOBAL with computed operands", start))
            stack.append(_ANY)
            continue
        elif op.name.startswith("EXT"):
            result.hidden.append((f"{op.name} extension code {arg}", start))
        if _memo_op(op.name, arg, stack, memo):
            continue
        if op.mark:
            _pop_to_mark(stack)
        if op.name == "POP" and stack and stack[-1] is _MARK:
            stack.pop()
            continue
        _pop(stack, op.pops)
        if op.name == "MARK":
            stack.append(_MARK)
        elif op.name in _STRING_OPS:
            stack.append(_text(arg, raw_escape=op.name == "UNICODE"))
        elif op.name in _LONG_OPS:
            stack.append(_long(arg, text=op.name == "LONG"))
        else:
            stack.extend([_ANY] * op.pushes)


def _memo_op(name: str, arg: object, stack: list[object], memo: dict[int, object]) -> bool:
    """Apply memo and DUP opcodes; False for every other opcode."""
    if name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
        if not stack or stack[-1] is _MARK:
            raise Malformed(f"{name} on an empty stack")
        key = len(memo) if name == "MEMOIZE" else _int(arg)
        memo[key] = stack[-1]
        return True
    if name in ("GET", "BINGET", "LONG_BINGET"):
        key = _int(arg)
        if key not in memo:
            raise Malformed(f"{name} of a memo key never stored ({key})")
        stack.append(memo[key])
        return True
    if name == "DUP":
        if not stack:
            raise Malformed("DUP on an empty stack")
        stack.append(stack[-1])
        return True
    return False


def _int(arg: object) -> int:
    if isinstance(arg, int):
        return arg
    try:
        return int(arg) if isinstance(arg, bytes) else -1
    except ValueError as exc:
        raise Malformed(f"bad memo key {arg!r}") from exc


def _text(arg: object, *, raw_escape: bool) -> object:
    """The str a string opcode pushes, or the placeholder when it was skipped or invalid."""
    if not isinstance(arg, bytes):
        return _ANY
    try:
        return arg.decode("raw-unicode-escape" if raw_escape else "utf-8")
    except UnicodeDecodeError:
        return _ANY


def _long(arg: object, *, text: bool) -> object:
    """The int a LONG opcode pushes (``123L`` text, or little-endian two's complement)."""
    if not isinstance(arg, bytes):
        return _ANY
    if not text:
        return int.from_bytes(arg, "little", signed=True)
    try:
        return int(arg.rstrip(b"L"))
    except ValueError:
        return _ANY


def _pop(stack: list[object], count: int) -> list[object]:
    if count == 0:
        return []
    if len(stack) < count or any(item is _MARK for item in stack[-count:]):
        raise Malformed("stack underflow")
    taken = stack[-count:]
    del stack[-count:]
    return taken


def _pop_to_mark(stack: list[object]) -> None:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is _MARK:
            del stack[index:]
            return
    raise Malformed("no MARK on the stack")


class _Reader:
    """Byte-level reading with an offset, skipping (not keeping) long arguments."""

    def __init__(self, stream: IO[bytes], max_bytes: int | None = None) -> None:
        self._stream = stream
        self._max = max_bytes
        self.offset = 0
        self._peeked: bytes = b""

    def _read(self, count: int) -> bytes:
        if self._max is not None and self.offset + count > self._max:
            raise Malformed(f"longer than {self._max} bytes")
        data = self._peeked[:count]
        self._peeked = self._peeked[count:]
        if len(data) < count:
            data += self._stream.read(count - len(data))
        if len(data) < count:
            raise Malformed("unexpected end of data")
        self.offset += count
        return data

    def byte(self) -> int:
        return self._read(1)[0]

    def peek_byte(self) -> int | None:
        if not self._peeked:
            self._peeked = self._stream.read(1)
        return self._peeked[0] if self._peeked else None

    def _skip(self, count: int) -> None:
        while count > 0:
            step = min(count, 1 << 20)
            self._read(step)
            count -= step

    def line(self) -> bytes:
        out = bytearray()
        while True:
            char = self._read(1)
            if char == b"\n":
                return bytes(out)
            out += char
            if len(out) > MAX_LINE:
                raise Malformed("text argument too long")

    def argument(self, kind: ArgKind) -> object:
        if kind in _FIXED:
            fmt = _FIXED[kind]
            return struct.unpack(fmt, self._read(struct.calcsize(fmt)))[0]
        if kind == "line":
            return self.line()
        if kind == "line2":
            return (_utf8(self.line()), _utf8(self.line()))
        fmt = _COUNTED[kind]
        length = int(struct.unpack(fmt, self._read(struct.calcsize(fmt)))[0])
        if length < 0:
            raise Malformed("negative length")
        if length > MAX_KEPT_STRING:
            self._skip(length)
            return None
        return self._read(length)


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed("GLOBAL names are not UTF-8") from exc
