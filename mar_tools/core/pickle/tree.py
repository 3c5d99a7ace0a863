"""Evaluate a pickle into inert values: what it would build, without importing or calling.

:func:`load_tree` follows the opcodes of one pickle (protocols 0 to 5) the way the
unpickler does, but a global becomes a :class:`Ref` (a name, never imported), calling it
becomes a :class:`Call` (a record of the callee and its arguments, never run), and a
persistent id becomes a :class:`Persistent`. Plain values (``None``, booleans, numbers,
strings, bytes, lists, tuples, dicts) are built as themselves, so a ``state_dict`` comes
back as a dict of calls of ``torch._utils._rebuild_tensor_v2``, which readers then
interpret. ``OrderedDict()`` and ``dict()`` calls become a :class:`DictValue` so that the
items and the state the pickle adds land in one place.

Values may be shared and even cyclic (the memo lets a pickle use one object twice): walk
them with a set of visited ids. Every input is bounded: the number of bytes read, of values
built, and the length of strings and bytes kept (longer ones stand as :data:`SKIPPED`).
"""

from __future__ import annotations

import _compat_pickle
from dataclasses import dataclass, field
from typing import IO, Final

from mar_tools.core.pickle.opcodes import OPS
from mar_tools.core.pickle.reader import Malformed, Reader
from mar_tools.core.pickle.scalars import SCALARS, SKIPPED, Skipped, line_text, memo_key

__all__ = [
    "Call",
    "DictValue",
    "Limits",
    "Malformed",
    "Persistent",
    "Reader",
    "Ref",
    "Skipped",
    "load_tree",
]

_DICT_CALLEES: Final = frozenset({"collections.OrderedDict", "builtins.dict"})


@dataclass(frozen=True)
class Limits:
    """Bounds on one evaluation: bytes read and values built (strings and bytes longer than
    the reader keeps stand as :class:`Skipped`)."""

    max_bytes: int = 64 << 20
    max_values: int = 2_000_000


@dataclass(frozen=True)
class Ref:
    """A global the pickle names (``module.name``, after the unpickler's Python 2 mapping)."""

    module: str
    name: str

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class Call:
    """What calling *callee* with *args* would make; ``state`` is what ``BUILD`` set on it,
    ``items``/``entries`` what ``APPEND(S)``/``SETITEM(S)`` added to it."""

    callee: object
    args: tuple[object, ...]
    kwargs: object = None
    state: object = None
    items: list[object] = field(default_factory=list)
    entries: list[tuple[object, object]] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        """The callee's full name when it is a :class:`Ref`."""
        return self.callee.full if isinstance(self.callee, Ref) else None


class DictValue(dict[object, object]):
    """A dict the pickle built (``{}``, ``dict()`` or ``OrderedDict()``), with the ``state``
    a ``BUILD`` set on it (``state_dict._metadata``, for instance)."""

    state: object = None


@dataclass(frozen=True)
class Persistent:
    """A persistent id (torch's storages: ``('storage', type, key, location, size)``)."""

    pid: object


class _Mark:
    pass


_MARK: Final = _Mark()


def load_tree(reader: Reader, limits: Limits | None = None) -> object:
    """The value of the pickle at the reader's position (see the module docstring).

    Raises :class:`Malformed` for a stream the unpickler would refuse, or one that breaks
    *limits*. Reading stops at the pickle's ``STOP``: ``reader.offset`` is then its end.
    """
    return _Machine(limits or Limits()).run(reader)


def open_reader(stream: IO[bytes], limits: Limits | None = None) -> Reader:
    """A :class:`~mar_tools.core.pickle.reader.Reader` on *stream* with the bounds of
    *limits*."""
    return Reader(stream, (limits or Limits()).max_bytes)


class _Machine:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.stack: list[object] = []
        self.memo: dict[int, object] = {}
        self.protocol = 0
        self.built = 0

    def run(self, reader: Reader) -> object:
        while True:
            code = reader.byte()
            op = OPS.get(code)
            if op is None:
                raise Malformed(f"unknown opcode 0x{code:02x}")
            arg = reader.argument(op.arg) if op.arg else None
            if op.name == "STOP":
                return self.pop()
            self.step(op.name, arg)

    def count(self, value: object) -> object:
        self.built += 1
        if self.built > self.limits.max_values:
            raise Malformed(f"builds more than {self.limits.max_values} values")
        return value

    def pop(self) -> object:
        if not self.stack or self.stack[-1] is _MARK:
            raise Malformed("stack underflow")
        return self.stack.pop()

    def pop_mark(self) -> list[object]:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index] is _MARK:
                items = self.stack[index + 1 :]
                del self.stack[index:]
                return items
        raise Malformed("no MARK on the stack")

    def top(self) -> object:
        if not self.stack or self.stack[-1] is _MARK:
            raise Malformed("stack underflow")
        return self.stack[-1]

    def step(self, name: str, arg: object) -> None:
        push = self.stack.append
        if name in SCALARS:
            push(SCALARS[name](arg))
        elif name in ("PROTO", "FRAME"):
            self.protocol = int(arg) if name == "PROTO" and isinstance(arg, int) else self.protocol
        elif name == "MARK":
            push(_MARK)
        elif name == "POP":
            if self.stack and self.stack[-1] is _MARK:
                self.stack.pop()
            else:
                self.pop()
        elif name == "POP_MARK":
            self.pop_mark()
        elif name == "DUP":
            push(self.top())
        elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            key = len(self.memo) if name == "MEMOIZE" else memo_key(arg)
            self.memo[key] = self.top()
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            key = memo_key(arg)
            if key not in self.memo:
                raise Malformed(f"memo key {key} was never stored")
            push(self.memo[key])
        elif name in _CONTAINERS:
            self.container(name)
        elif name in ("GLOBAL", "INST"):
            assert isinstance(arg, tuple)
            ref = self.ref(str(arg[0]), str(arg[1]))
            push(ref if name == "GLOBAL" else self.count(Call(ref, tuple(self.pop_mark()))))
        elif name == "STACK_GLOBAL":
            attr, module = self.pop(), self.pop()
            push(self.ref(module, attr) if isinstance(module, str) and isinstance(attr, str)
                 else Ref("?", "?"))  # fmt: skip
        elif name.startswith("EXT"):
            push(Ref("<extension>", str(arg)))
        else:
            self.call_or_change(name, arg)

    def ref(self, module: str, attr: str) -> Ref:
        if self.protocol < 3:
            module, attr = _compat_pickle.NAME_MAPPING.get((module, attr), (module, attr))
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        return Ref(module, attr)

    def container(self, name: str) -> None:
        push = self.stack.append
        if name == "EMPTY_LIST":
            push(self.count([]))
        elif name in ("EMPTY_DICT", "EMPTY_SET"):
            push(self.count(DictValue() if name == "EMPTY_DICT" else []))
        elif name in ("LIST", "FROZENSET"):
            push(self.count(self.pop_mark()))
        elif name == "TUPLE":
            push(self.count(tuple(self.pop_mark())))
        elif name == "EMPTY_TUPLE":
            push(())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            size = int(name[-1])
            items = [self.pop() for _ in range(size)][::-1]
            push(self.count(tuple(items)))
        elif name == "DICT":
            items = self.pop_mark()
            push(self.count(_pairs_into(DictValue(), items)))
        elif name in ("APPEND", "APPENDS", "ADDITEMS"):
            items = [self.pop()] if name == "APPEND" else self.pop_mark()
            target = self.top()
            if isinstance(target, list):
                target.extend(items)
            elif isinstance(target, Call):
                target.items.extend(items)
        elif name in ("SETITEM", "SETITEMS"):
            items = self.pop_mark() if name == "SETITEMS" else [*reversed([self.pop(), self.pop()])]
            target = self.top()
            if isinstance(target, DictValue):
                _pairs_into(target, items)
            elif isinstance(target, Call):
                target.entries.extend(zip(items[::2], items[1::2], strict=False))

    def call_or_change(self, name: str, arg: object) -> None:
        push = self.stack.append
        if name == "REDUCE":
            args, callee = self.pop(), self.pop()
            push(self.count(_called(callee, args)))
        elif name == "NEWOBJ":
            args, cls = self.pop(), self.pop()
            push(self.count(_called(cls, args)))
        elif name == "NEWOBJ_EX":
            kwargs, args, cls = self.pop(), self.pop(), self.pop()
            push(self.count(Call(cls, _as_tuple(args), kwargs)))
        elif name == "OBJ":
            items = self.pop_mark()
            if not items:
                raise Malformed("OBJ without a class")
            push(self.count(Call(items[0], tuple(items[1:]))))
        elif name == "BUILD":
            state = self.pop()
            target = self.top()
            if isinstance(target, Call | DictValue):
                target.state = state
        elif name == "PERSID":
            push(Persistent(line_text(arg)))
        elif name == "BINPERSID":
            push(Persistent(self.pop()))
        elif name in ("NEXT_BUFFER", "READONLY_BUFFER"):
            if name == "NEXT_BUFFER":
                push(SKIPPED)
        else:  # pragma: no cover - every opcode of the table is handled above
            raise Malformed(f"unhandled opcode {name}")


def _called(callee: object, args: object) -> object:
    if isinstance(callee, Ref) and callee.full in _DICT_CALLEES and not args:
        return DictValue()
    return Call(callee, _as_tuple(args))


def _as_tuple(args: object) -> tuple[object, ...]:
    return args if isinstance(args, tuple) else (args,)


def _pairs_into(target: DictValue, items: list[object]) -> DictValue:
    if len(items) % 2:
        raise Malformed("odd number of items for a dict")
    for key, value in zip(items[::2], items[1::2], strict=True):
        target[key if _hashable(key) else _Unhashable()] = value
    return target


class _Unhashable:
    """Stands for a dict key the pickle built from a list or dict (not usable as a key)."""


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


_CONTAINERS: Final = frozenset(
    {"EMPTY_LIST", "APPEND", "APPENDS", "LIST", "EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2",
     "TUPLE3", "EMPTY_DICT", "DICT", "SETITEM", "SETITEMS", "EMPTY_SET", "ADDITEMS",
     "FROZENSET"}
)  # fmt: skip
