"""The pickle opcodes of protocols 0 to 5: argument encoding and stack effect of each.

Written from the pickle format as documented in CPython's ``pickletools``; the validator's
pickle scanner and the core's inert evaluator (:mod:`mar_tools.core.pickle.tree`) use this
table instead of importing the unpickler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

ArgKind = Literal["u1", "u2", "u4", "i4", "u8", "f8", "line", "line2", "n1", "n4s", "n4u", "n8"]


@dataclass(frozen=True)
class Op:
    """One opcode: its argument, and its stack effect (pop to MARK first when *mark*)."""

    name: str
    arg: ArgKind | None = None
    pops: int = 0
    pushes: int = 0
    mark: bool = False


OPS: Final[dict[int, Op]] = {
    ord(code): op
    for code, op in {
        "I": Op("INT", "line", pushes=1),
        "J": Op("BININT", "i4", pushes=1),
        "K": Op("BININT1", "u1", pushes=1),
        "M": Op("BININT2", "u2", pushes=1),
        "L": Op("LONG", "line", pushes=1),
        "\x8a": Op("LONG1", "n1", pushes=1),
        "\x8b": Op("LONG4", "n4s", pushes=1),
        "S": Op("STRING", "line", pushes=1),
        "T": Op("BINSTRING", "n4s", pushes=1),
        "U": Op("SHORT_BINSTRING", "n1", pushes=1),
        "B": Op("BINBYTES", "n4u", pushes=1),
        "C": Op("SHORT_BINBYTES", "n1", pushes=1),
        "\x8e": Op("BINBYTES8", "n8", pushes=1),
        "\x96": Op("BYTEARRAY8", "n8", pushes=1),
        "\x97": Op("NEXT_BUFFER", pushes=1),
        "\x98": Op("READONLY_BUFFER", pops=1, pushes=1),
        "N": Op("NONE", pushes=1),
        "\x88": Op("NEWTRUE", pushes=1),
        "\x89": Op("NEWFALSE", pushes=1),
        "V": Op("UNICODE", "line", pushes=1),
        "\x8c": Op("SHORT_BINUNICODE", "n1", pushes=1),
        "X": Op("BINUNICODE", "n4u", pushes=1),
        "\x8d": Op("BINUNICODE8", "n8", pushes=1),
        "F": Op("FLOAT", "line", pushes=1),
        "G": Op("BINFLOAT", "f8", pushes=1),
        "]": Op("EMPTY_LIST", pushes=1),
        "a": Op("APPEND", pops=2, pushes=1),
        "e": Op("APPENDS", pops=1, pushes=1, mark=True),
        "l": Op("LIST", pushes=1, mark=True),
        ")": Op("EMPTY_TUPLE", pushes=1),
        "t": Op("TUPLE", pushes=1, mark=True),
        "\x85": Op("TUPLE1", pops=1, pushes=1),
        "\x86": Op("TUPLE2", pops=2, pushes=1),
        "\x87": Op("TUPLE3", pops=3, pushes=1),
        "}": Op("EMPTY_DICT", pushes=1),
        "d": Op("DICT", pushes=1, mark=True),
        "s": Op("SETITEM", pops=3, pushes=1),
        "u": Op("SETITEMS", pops=1, pushes=1, mark=True),
        "\x8f": Op("EMPTY_SET", pushes=1),
        "\x90": Op("ADDITEMS", pops=1, pushes=1, mark=True),
        "\x91": Op("FROZENSET", pushes=1, mark=True),
        "0": Op("POP", pops=1),
        "2": Op("DUP"),
        "(": Op("MARK"),
        "1": Op("POP_MARK", mark=True),
        "g": Op("GET", "line"),
        "h": Op("BINGET", "u1"),
        "j": Op("LONG_BINGET", "u4"),
        "p": Op("PUT", "line"),
        "q": Op("BINPUT", "u1"),
        "r": Op("LONG_BINPUT", "u4"),
        "\x94": Op("MEMOIZE"),
        "\x82": Op("EXT1", "u1", pushes=1),
        "\x83": Op("EXT2", "u2", pushes=1),
        "\x84": Op("EXT4", "i4", pushes=1),
        "c": Op("GLOBAL", "line2", pushes=1),
        "\x93": Op("STACK_GLOBAL", pops=2, pushes=1),
        "R": Op("REDUCE", pops=2, pushes=1),
        "b": Op("BUILD", pops=2, pushes=1),
        "i": Op("INST", "line2", pushes=1, mark=True),
        "o": Op("OBJ", pushes=1, mark=True),
        "\x81": Op("NEWOBJ", pops=2, pushes=1),
        "\x92": Op("NEWOBJ_EX", pops=3, pushes=1),
        "\x80": Op("PROTO", "u1"),
        ".": Op("STOP", pops=1),
        "\x95": Op("FRAME", "u8"),
        "P": Op("PERSID", "line", pushes=1),
        "Q": Op("BINPERSID", pops=1, pushes=1),
    }.items()
}
