"""Decoding the arguments of the pickle opcodes that push a plain value (numbers, strings,
bytes, ``None``, booleans), as the unpickler decodes them."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Final

from mar_tools.core.pickle.reader import Malformed


class Skipped:
    """Stands for a string or bytes argument too long for the reader to keep."""

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED: Final = Skipped()


def memo_key(arg: object) -> int:
    """The memo index a GET/PUT opcode names (binary, or protocol 0 text)."""
    if isinstance(arg, int):
        return arg
    try:
        return int(arg) if isinstance(arg, bytes) else -1
    except ValueError as exc:
        raise Malformed(f"bad memo key {arg!r}") from exc


def line_text(raw: object) -> str:
    """A protocol 0 text argument (``PERSID``) as a string."""
    if not isinstance(raw, bytes):
        return "?"
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed("a text argument is not UTF-8") from exc


def _kept(arg: object) -> object:
    """A counted argument as read: its bytes, or :data:`SKIPPED` (the reader returns None
    for one too long to keep)."""
    return SKIPPED if arg is None else arg


def _unicode(arg: object) -> object:
    if not isinstance(arg, bytes):
        return _kept(arg)
    try:
        return arg.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise Malformed("a string is not UTF-8") from exc


def _raw_unicode(arg: object) -> object:
    return arg.decode("raw-unicode-escape") if isinstance(arg, bytes) else _kept(arg)


def _int_line(arg: object) -> object:
    text = arg if isinstance(arg, bytes) else b""
    if text in (b"00", b"01"):
        return text == b"01"
    try:
        return int(text.rstrip(b"L"))
    except ValueError as exc:
        raise Malformed(f"bad integer {text!r}") from exc


def _float_line(arg: object) -> object:
    try:
        return float(arg) if isinstance(arg, bytes) else 0.0
    except ValueError as exc:
        raise Malformed(f"bad float {arg!r}") from exc


def _long(arg: object) -> object:
    return int.from_bytes(arg, "little", signed=True) if isinstance(arg, bytes) else _kept(arg)


def _py2_string(arg: object) -> object:
    """A protocol 0 ``STRING`` (a quoted, escaped literal) or a binary one, as text."""
    if not isinstance(arg, bytes):
        return _kept(arg)
    if arg[:1] in (b"'", b'"') and arg[-1:] == arg[:1] and len(arg) >= 2:
        arg = codecs.escape_decode(arg[1:-1])[0]
    return arg.decode("latin-1")


SCALARS: Final[dict[str, Callable[[object], object]]] = {
    "INT": _int_line,
    "BININT": lambda arg: arg,
    "BININT1": lambda arg: arg,
    "BININT2": lambda arg: arg,
    "LONG": _int_line,
    "LONG1": _long,
    "LONG4": _long,
    "STRING": _py2_string,
    "BINSTRING": _py2_string,
    "SHORT_BINSTRING": _py2_string,
    "BINBYTES": _kept,
    "SHORT_BINBYTES": _kept,
    "BINBYTES8": _kept,
    "BYTEARRAY8": _kept,
    "NONE": lambda _arg: None,
    "NEWTRUE": lambda _arg: True,
    "NEWFALSE": lambda _arg: False,
    "UNICODE": _raw_unicode,
    "SHORT_BINUNICODE": _unicode,
    "BINUNICODE": _unicode,
    "BINUNICODE8": _unicode,
    "FLOAT": _float_line,
    "BINFLOAT": lambda arg: arg,
}
