"""The fastest CRC-32 and raw-deflate decoder available: isal's when installed, else zlib's.

isal computes CRC-32 about five times and inflates about twice as fast as the zlib most
Pythons link; both produce identical results.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol, cast


class Inflater(Protocol):
    """The part of a zlib ``Decompress`` object the entry reader uses."""

    @property
    def unconsumed_tail(self) -> bytes: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes | memoryview, max_length: int = ...) -> bytes: ...


Crc32 = Callable[[bytes | memoryview, int], int]


def _pick() -> tuple[Crc32, Callable[[], Inflater], tuple[type[BaseException], ...]]:
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - isal is an optional speed-up
        return (
            cast(Crc32, zlib.crc32),
            lambda: cast(Inflater, zlib.decompressobj(-15)),
            (zlib.error,),
        )
    return (
        cast(Crc32, isal_zlib.crc32),
        lambda: cast(Inflater, isal_zlib.decompressobj(-15)),
        (zlib.error, cast(type[BaseException], isal_zlib.error)),
    )


#: crc32(data, running_value) -> new running value.
crc32: Crc32
#: A fresh raw-deflate (no header) decompressor.
new_inflater: Callable[[], Inflater]
#: What a decompressor raises on corrupt input.
INFLATE_ERRORS: tuple[type[BaseException], ...]
crc32, new_inflater, INFLATE_ERRORS = _pick()
