"""Simulate the unpickler's stack and memo over one pickle, without building any object.

The simulated stack holds what a judgement needs: the globals the pickle imports
(:class:`Global`), what calls made (:class:`Made`), tuple literals (:class:`Tup`, the
arguments of calls), short strings and ints, bytes that may be a nested torch file
(:class:`Blob`), and a placeholder for everything else. Values travel through the memo
(``PUT``/``GET``/``MEMOIZE``) and ``DUP`` as they do in the unpickler, so a global fetched
back from the memo is still known when it is called. Each import, each call (``REDUCE``,
``NEWOBJ``, ``NEWOBJ_EX``, ``INST``, ``OBJ``) and each change of an object (``BUILD``,
``APPEND(S)``, ``SETITEM(S)``, ``ADDITEMS``) is reported to an :class:`Observer`.

Names are resolved as the unpickler resolves them: a pickle of protocol 0 to 2 (the
``PROTO`` last seen, 0 without one) has its Python 2 module names mapped.
"""

from __future__ import annotations

import _compat_pickle
from dataclasses import dataclass
from typing import Final, Protocol

from mar_tools.core.pickle.opcodes import OPS
from mar_tools.core.pickle.reader import NESTED_HEADS, Malformed, Reader
from mar_tools.core.pickle.scalars import memo_key

_STRING_OPS: Final = frozenset({"UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"})
_BYTES_OPS: Final = frozenset({"BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"})
_INT_OPS: Final = frozenset({"BININT", "BININT1", "BININT2"})
_LONG_OPS: Final = frozenset({"LONG", "LONG1", "LONG4"})
_PUT_OPS: Final = frozenset({"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"})
#: Bounds on the simulated unpickler, so that a hostile pickle cannot make the scan use
#: memory out of proportion to what real checkpoints need (a whole pickled model has a few
#: hundred thousand memo entries at most; its stack stays shallow).
MAX_MEMO: Final = 2_000_000
MAX_STACK: Final = 2_000_000
_GET_OPS: Final = frozenset({"GET", "BINGET", "LONG_BINGET"})
_CALL_OPS: Final = frozenset({"REDUCE", "NEWOBJ", "NEWOBJ_EX"})
_CHANGE_OPS: Final = frozenset({"APPEND", "SETITEM", "APPENDS", "SETITEMS", "ADDITEMS"})
#: Opcodes whose offset a report may name.
_LOCATED: Final = (
    _CALL_OPS
    | _CHANGE_OPS
    | {"BUILD", "GLOBAL", "INST", "STACK_GLOBAL", "OBJ", "EXT1", "EXT2", "EXT4"}
)
#: The opcode table as a list indexed by code (faster than the dict in the hot loop).
_BY_CODE: Final = [OPS.get(code) for code in range(256)]


@dataclass(frozen=True, slots=True)
class Global:
    """A global the pickle imports (names after the unpickler's own mapping)."""

    module: str
    name: str
    offset: int

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class Made:
    """What calling a global returned (an instance, when the global is a class)."""

    callee: Global


@dataclass(frozen=True, slots=True)
class Tup:
    """A tuple built by the pickle from the values it holds."""

    items: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Blob:
    """Bytes that start like a zip or a pickle (kept: a torch file the pickle may load);
    *text* when a string opcode pushed them (protocol 2 spells bytes as latin-1 text)."""

    data: bytes
    text: bool


class _Token:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: Any value the scanner does not follow (lists, dicts, numbers, persistent objects...).
OPAQUE: Final = _Token("OPAQUE")
#: ``None`` (``NONE``).
NOTHING: Final = _Token("None")
#: The value of an import the pickle hides (EXT codes, computed STACK_GLOBAL operands).
HIDDEN: Final = _Token("HIDDEN")
_MARK: Final = _Token("MARK")


class Observer(Protocol):
    """Receives what the pickle does, in stream order."""

    def imported(self, ref: Global) -> None:
        """*ref* is imported (``GLOBAL``, ``STACK_GLOBAL``, ``INST``)."""

    def called(self, op: str, callee: object, args: object, offset: int) -> object:
        """*callee* is called by *op* with *args*; returns the value the call makes."""

    def changed(self, op: str, target: object, offset: int) -> None:
        """*target* is changed in place by *op* (``BUILD``, ``APPEND``, ``SETITEM``...)."""

    def concealed(self, reason: str, offset: int) -> None:
        """The pickle imports something it does not name literally."""

    def loaded(self, pid: object) -> object:
        """What ``persistent_load(pid)`` returns (``PERSID``, ``BINPERSID``)."""


def run_pickle(reader: Reader, observer: Observer, seen: set[int]) -> object:
    """Simulate one pickle from *reader* up to its ``STOP``; return its top value.

    Every opcode byte met is added to *seen*. Raises :class:`Malformed` when the unpickler
    would fail on the stream's structure.
    """
    stack: list[object] = []
    memo: dict[int, object] = {}
    proto = 0
    byte, argument = reader.byte, reader.argument
    while True:
        code = byte()
        op = _BY_CODE[code]
        if op is None:
            raise Malformed(f"unknown opcode 0x{code:02x}")
        seen.add(code)
        name = op.name
        # The offset of the opcode, for messages: read before its argument when it has one.
        start = reader.offset - 1 if name in _LOCATED else 0
        arg = argument(op.arg) if op.arg else None
        if len(stack) > MAX_STACK:
            raise Malformed(f"the stack grows beyond {MAX_STACK:,} items (refused, not scanned)")
        if name in _PUT_OPS:
            if not stack or stack[-1] is _MARK:
                raise Malformed(f"{name} on an empty stack")
            if len(memo) >= MAX_MEMO:
                raise Malformed(f"more than {MAX_MEMO:,} memo entries (refused, not scanned)")
            memo[len(memo) if name == "MEMOIZE" else memo_key(arg)] = stack[-1]
        elif name in _GET_OPS:
            key = memo_key(arg)
            if key not in memo:
                raise Malformed(f"{name} of a memo key never stored ({key})")
            stack.append(memo[key])
        elif name in _STRING_OPS:
            stack.append(_text(arg, raw_escape=name == "UNICODE"))
        elif name in _INT_OPS:
            stack.append(arg)
        elif name == "MARK":
            stack.append(_MARK)
        elif name == "NONE":
            stack.append(NOTHING)
        elif name.startswith("TUPLE") or name == "EMPTY_TUPLE":
            stack.append(Tup(_tuple_items(name, stack)))
        elif name in _CALL_OPS:
            taken = _pop(stack, op.pops)
            stack.append(observer.called(name, taken[0], taken[1], start))
        elif name in _CHANGE_OPS or name == "BUILD":
            if op.mark:
                _pop_to_mark(stack)
            else:
                _pop(stack, op.pops - 1)
            if not stack or stack[-1] is _MARK:
                raise Malformed("stack underflow")
            observer.changed(name, stack[-1], start)
        elif name == "STOP":
            return _pop(stack, 1)[0]
        elif name in ("GLOBAL", "INST", "STACK_GLOBAL"):
            ref = _global(name, arg, stack, proto, start)
            if ref is None:
                observer.concealed("STACK_GLOBAL with computed operands", start)
                stack.append(HIDDEN)
                continue
            observer.imported(ref)
            if name == "INST":
                items = _pop_to_mark(stack)
                stack.append(observer.called(name, ref, Tup(tuple(items)), start))
            else:
                stack.append(ref)
        elif name == "OBJ":
            items = _pop_to_mark(stack)
            if not items:
                raise Malformed("OBJ without a class")
            stack.append(observer.called(name, items[0], Tup(tuple(items[1:])), start))
        elif name in _BYTES_OPS:
            data = arg if isinstance(arg, bytes) else b""
            stack.append(Blob(data, False) if data.startswith(NESTED_HEADS) else OPAQUE)
        elif name in _LONG_OPS:
            stack.append(_long(arg, text=name == "LONG"))
        elif name.startswith("EXT"):
            observer.concealed(f"{name} extension code {arg}", start)
            stack.append(HIDDEN)
        elif name == "PROTO":
            proto = int(arg) if isinstance(arg, int) else proto
        elif name == "BINPERSID":
            stack.append(observer.loaded(_pop(stack, 1)[0]))
        elif name == "PERSID":
            stack.append(observer.loaded(arg))
        elif name == "DUP":
            if not stack:
                raise Malformed("DUP on an empty stack")
            stack.append(stack[-1])
        elif name == "POP" and stack and stack[-1] is _MARK:
            stack.pop()
        else:
            if op.mark:
                _pop_to_mark(stack)
            _pop(stack, op.pops)
            stack.extend([OPAQUE] * op.pushes)


def _global(name: str, arg: object, stack: list[object], proto: int, start: int) -> Global | None:
    """The global a GLOBAL/INST/STACK_GLOBAL imports; None when its operands are computed."""
    if name == "STACK_GLOBAL":
        qualname, module = _pop(stack, 1)[0], _pop(stack, 1)[0]
        if not isinstance(module, str) or not isinstance(qualname, str):
            return None
    else:
        assert isinstance(arg, tuple)
        module, qualname = arg
    if proto < 3:  # the unpickler's fix_imports
        if (module, qualname) in _compat_pickle.NAME_MAPPING:
            module, qualname = _compat_pickle.NAME_MAPPING[(module, qualname)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return Global(module, qualname, start)


def _tuple_items(name: str, stack: list[object]) -> tuple[object, ...]:
    if name == "EMPTY_TUPLE":
        return ()
    if name == "TUPLE":
        return tuple(_pop_to_mark(stack))
    return tuple(_pop(stack, int(name[-1])))


def _text(arg: object, *, raw_escape: bool) -> object:
    """The str a string opcode pushes, a :class:`Blob` for zip-like text, or the placeholder."""
    if not isinstance(arg, bytes):
        return OPAQUE
    if arg.startswith(NESTED_HEADS):
        return Blob(arg, True)
    try:
        return arg.decode("raw-unicode-escape" if raw_escape else "utf-8")
    except UnicodeDecodeError:
        return OPAQUE


def _long(arg: object, *, text: bool) -> object:
    """The int a LONG opcode pushes (``123L`` text, or little-endian two's complement)."""
    if not isinstance(arg, bytes):
        return OPAQUE
    if not text:
        return int.from_bytes(arg, "little", signed=True)
    try:
        return int(arg.rstrip(b"L"))
    except ValueError:
        return OPAQUE


def _pop(stack: list[object], count: int) -> list[object]:
    if count == 0:
        return []
    taken = stack[-count:]
    if len(taken) < count or _MARK in taken:
        raise Malformed("stack underflow")
    del stack[-count:]
    return taken


def _pop_to_mark(stack: list[object]) -> list[object]:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is _MARK:
            items = stack[index + 1 :]
            del stack[index:]
            return items
    raise Malformed("no MARK on the stack")
