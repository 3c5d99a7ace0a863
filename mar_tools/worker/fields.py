"""Typed reading of a message header: each field checked, each error naming message and field.

:class:`Fields` wraps one JSON object of a message (the header, or an object nested in it)
and hands out its fields with their types checked; :class:`Blobs` hands out a message's
blobs in order and checks that their count is right. Anything missing or mistyped raises
:class:`MessageError` with a sentence a user can report (never a ``KeyError``). Standard
library only, like the rest of the worker package.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class MessageError(Exception):
    """A message this side of the protocol cannot read: another protocol version, an unknown
    type, a missing or mistyped field, or the wrong number of blobs."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_text_pair(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)


class Fields:
    """The fields of one JSON object *data* of a message; *where* names it in errors
    (``'load' message``, ``'response' message, frames[0]``)."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self._data = data
        self.where = where

    def value(self, name: str) -> Any:
        """Field *name*, whatever JSON value it holds."""
        if name not in self._data:
            raise MessageError(f"{self.where}: field {name!r} is missing")
        return self._data[name]

    def text(self, name: str) -> str:
        value: str = self._checked(name, lambda v: isinstance(v, str), "a string")
        return value

    def optional_text(self, name: str) -> str | None:
        value: str | None = self._checked(
            name, lambda v: v is None or isinstance(v, str), "a string or null"
        )
        return value

    def integer(self, name: str) -> int:
        value: int = self._checked(name, _is_int, "an integer")
        return value

    def optional_integer(self, name: str) -> int | None:
        value: int | None = self._checked(
            name, lambda v: v is None or _is_int(v), "an integer or null"
        )
        return value

    def number(self, name: str) -> float:
        return float(self._checked(name, _is_number, "a number"))

    def flag(self, name: str) -> bool:
        value: bool = self._checked(name, lambda v: isinstance(v, bool), "true or false")
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        """A list of strings, as a tuple."""
        items = self._checked(
            name,
            lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
            "a list of strings",
        )
        return tuple(items)

    def text_pairs(self, name: str) -> tuple[tuple[str, str], ...]:
        """A list of two-string lists, as a tuple of pairs (order and repeats kept)."""
        items = self._checked(
            name,
            lambda v: isinstance(v, list) and all(_is_text_pair(p) for p in v),
            "a list of [string, string] pairs",
        )
        return tuple((first, second) for first, second in items)

    def text_map(self, name: str) -> dict[str, str]:
        """An object whose values are strings (key order kept)."""
        items = self._checked(
            name,
            lambda v: isinstance(v, dict) and all(isinstance(s, str) for s in v.values()),
            "an object of strings",
        )
        return dict(items)

    def objects(self, name: str) -> list[Fields]:
        """A list of objects, each as :class:`Fields` named ``field[index]``."""
        items = self._checked(
            name,
            lambda v: isinstance(v, list) and all(isinstance(o, dict) for o in v),
            "a list of objects",
        )
        return [Fields(item, f"{self.where}, {name}[{i}]") for i, item in enumerate(items)]

    def optional_object(self, name: str) -> Fields | None:
        item = self._checked(name, lambda v: v is None or isinstance(v, dict), "an object or null")
        return None if item is None else Fields(item, f"{self.where}, {name}")

    def _checked(self, name: str, accepts: Callable[[Any], bool], expected: str) -> Any:
        value = self.value(name)
        if not accepts(value):
            raise MessageError(
                f"{self.where}: field {name!r} must be {expected}, not {_describe(value, expected)}"
            )
        return value


def _describe(value: object, expected: str) -> str:
    """What *value* is, in the words of *expected* (``a list with other items`` where a
    list of something else was expected)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "a list with other items" if expected.startswith("a list") else "a list"
    if isinstance(value, dict):
        return "an object with other values" if expected.startswith("an object") else "an object"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


class Blobs:
    """A message's blobs, taken in order; :meth:`finish` checks none is left over."""

    def __init__(self, blobs: Sequence[bytes], where: str) -> None:
        self._blobs = blobs
        self._next = 0
        self._where = where

    def take(self) -> bytes:
        """The next blob; :class:`MessageError` when there is none."""
        if self._next >= len(self._blobs):
            raise MessageError(
                f"{self._where}: the header describes more than its {len(self._blobs)} blobs"
            )
        blob = self._blobs[self._next]
        self._next += 1
        return blob

    def finish(self, result: T) -> T:
        """*result*, once every blob was taken; :class:`MessageError` otherwise."""
        if self._next != len(self._blobs):
            raise MessageError(
                f"{self._where}: {len(self._blobs)} blobs for a header that describes {self._next}"
            )
        return result
