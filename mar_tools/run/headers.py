"""Request headers in the order TorchServe's frontend sends them to the backend.

The frontend collects a request's headers in a ``java.util.HashMap`` and sends them in that
map's iteration order, so a handler calling ``context.get_all_request_header(i)`` sees them
in Java's hash order. :func:`java_hashmap_order` reproduces that order: String.hashCode over
UTF-16 code units, spread ``h ^ (h >>> 16)``, table size 16 doubling past 3/4 full, and
insertion order within a bucket (which a resize preserves).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

_MASK = 0xFFFFFFFF


@functools.lru_cache(maxsize=4096)
def java_string_hash(text: str) -> int:
    """``String.hashCode()`` as an unsigned 32-bit value (remembered: a server hashes the
    same few header names for every request)."""
    value = 0
    units = text.encode("utf-16-be")
    for i in range(0, len(units), 2):
        value = (value * 31 + int.from_bytes(units[i : i + 2], "big")) & _MASK
    return value


def _bucket(key: str, table_size: int) -> int:
    h = java_string_hash(key)
    return (h ^ (h >> 16)) & (table_size - 1)


def java_hashmap_order(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The entries of a ``HashMap`` filled by ``put(k, v)`` for *pairs*, in iteration order.

    A repeated key keeps its first position and takes its last value, as ``put`` does.
    """
    values: dict[str, str] = {}
    for key, value in pairs:
        values[key] = value
    return [(key, values[key]) for key in _iteration_order(tuple(values))]


@functools.lru_cache(maxsize=1024)
def _iteration_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    """*keys* (distinct, in insertion order) in the map's iteration order. It depends on the
    keys alone, and a server sees the same few header sets again and again: remembered."""
    table_size = 16
    while len(keys) > table_size * 3 // 4:
        table_size *= 2
    # sorted() is stable: keys of one bucket stay in insertion order.
    return tuple(sorted(keys, key=lambda k: _bucket(k, table_size)))
