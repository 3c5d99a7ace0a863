"""Deflate backends and the chunked raw-deflate stream shared by the zip and tgz writers.

Large inputs are cut into fixed :data:`CHUNK_SIZE` chunks that are compressed independently
(so in parallel) and concatenated into one valid raw deflate stream: every chunk ends with
a sync flush (byte-aligned, not final) and the stream ends with :data:`END_OF_STREAM`, an
empty final block. A chunk that would not shrink is emitted as stored blocks instead, so a
stream is never more than a few bytes per 64 KiB larger than its input. The chunk size is a
constant, never derived from the number of threads: the output bytes must not depend on
the machine.

The backend is isal (``isal.isal_zlib``) when importable, else the standard library's zlib;
``MAR_DEFLATE_BACKEND=zlib`` forces the latter (outputs differ between backends, so
reproducible builds across machines should pin one).
"""

from __future__ import annotations

import functools
import importlib
import os
import struct
import zlib
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol, TypeAlias

from mar_tools.core.record import record

#: Size of the pieces large inputs are cut into. Part of the output format: do not vary.
CHUNK_SIZE: Final = 1 << 20
#: An entry up to this size is compressed in one piece (and stored if that does not pay).
SMALL_ENTRY: Final = CHUNK_SIZE
#: A chunk whose first PROBE_SIZE bytes do not shrink is stored without compressing the rest.
PROBE_SIZE: Final = 64 << 10
#: Size of each of the samples that decide STORE vs DEFLATE for a large entry.
SAMPLE_SIZE: Final = 256 << 10
#: zlib's default level, which upstream uses for every entry; we use it for small ones.
SMALL_LEVEL: Final = 6
#: A probe compressed to a ratio in this range looks like text (code, JSON, vocabularies).
TEXT_RATIOS: Final = (0.02, 0.5)
#: Deflate must save at least this fraction to be used (below it the CPU time is wasted).
MIN_SAVING: Final = 0.01
#: An empty final fixed-Huffman block: what ``flush(Z_FINISH)`` emits after a sync flush.
END_OF_STREAM: Final = b"\x03\x00"
_STORED_BLOCK_MAX: Final = 0xFFFF
ENV_BACKEND: Final = "MAR_DEFLATE_BACKEND"


#: What the compressors and CRC functions accept.
Buffer: TypeAlias = bytes | bytearray | memoryview


class Compressor(Protocol):
    def compress(self, data: Buffer, /) -> bytes: ...

    def flush(self, mode: int = ..., /) -> bytes: ...


@record
class Backend:
    """A zlib-compatible deflate implementation and the level large entries use with it."""

    name: str
    compressobj: Callable[..., Compressor]
    crc32: Callable[[Buffer, int], int]
    crc32_combine: Callable[[int, int, int], int]
    fast_level: int
    sync_flush: int
    finish: int


def select_backend(preferred: str | None = None) -> Backend:
    """Return the isal backend when available (and not overridden), else stdlib zlib.

    *preferred* (``"isal"`` or ``"zlib"``) defaults to ``$MAR_DEFLATE_BACKEND``; asking for
    isal where it is not installed quietly gives zlib.
    """
    return _backend(preferred or os.environ.get(ENV_BACKEND, "") or "isal")


@functools.cache
def _backend(choice: str) -> Backend:
    if choice != "zlib":
        try:
            isal_zlib: Any = importlib.import_module("isal.isal_zlib")
            isal: Any = importlib.import_module("isal")
        except ImportError:
            pass
        else:
            return Backend(
                name=f"isal {getattr(isal, '__version__', '?')}",
                compressobj=isal_zlib.compressobj,
                crc32=isal_zlib.crc32,
                crc32_combine=isal_zlib.crc32_combine,
                fast_level=1,
                sync_flush=isal_zlib.Z_SYNC_FLUSH,
                finish=isal_zlib.Z_FINISH,
            )
    return Backend(
        name=f"zlib {zlib.ZLIB_RUNTIME_VERSION}",
        compressobj=zlib.compressobj,
        crc32=zlib.crc32,
        crc32_combine=crc32_combine,
        fast_level=1,
        sync_flush=zlib.Z_SYNC_FLUSH,
        finish=zlib.Z_FINISH,
    )


def _raw(backend: Backend, level: int) -> Compressor:
    return backend.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)


def deflate_whole(backend: Backend, data: Buffer, level: int) -> bytes:
    """Compress *data* into one complete raw deflate stream (final block included)."""
    compressor = _raw(backend, level)
    return compressor.compress(data) + compressor.flush(backend.finish)


def deflate_small(data: Buffer) -> bytes:
    """A small entry as upstream compresses it: the standard library's zlib at level 6.

    Small entries are code, configs and label files, where isal's levels are a third larger
    than zlib's level 6 and the time is negligible; matching upstream keeps sizes equal.
    """
    compressor = zlib.compressobj(SMALL_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH)


def deflate_chunk(backend: Backend, data: Buffer, level: int) -> bytes:
    """Compress one chunk of a larger stream: byte-aligned, non-final, never much bigger.

    Concatenating the results of consecutive chunks and :data:`END_OF_STREAM` gives a valid
    raw deflate stream of their concatenated inputs. The chunk's first :data:`PROBE_SIZE`
    bytes decide how: not shrinking (weights that are noise) gives stored blocks; shrinking
    like text (:data:`TEXT_RATIOS`) gives zlib at upstream's level 6, where the fast levels
    lose a fifth of the saving; anything else (float weights, zeros) the fast *level*.
    """
    view = memoryview(data)
    compressor = _raw(backend, level)
    head = compressor.compress(view[:PROBE_SIZE]) + compressor.flush(backend.sync_flush)
    if len(view) <= PROBE_SIZE:
        return head if len(head) < len(view) else stored_blocks(view)
    ratio = len(head) / PROBE_SIZE
    if ratio > 1 - MIN_SAVING:
        # The start of the chunk does not compress: don't spend time on the rest.
        return stored_blocks(view)
    if TEXT_RATIOS[0] <= ratio < TEXT_RATIOS[1]:
        text = zlib.compressobj(SMALL_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        out = text.compress(view) + text.flush(zlib.Z_SYNC_FLUSH)
    else:
        out = head + compressor.compress(view[PROBE_SIZE:]) + compressor.flush(backend.sync_flush)
    return out if len(out) < len(view) else stored_blocks(view)


def stored_blocks(data: Buffer) -> bytes:
    """*data* as non-final stored deflate blocks (5 bytes of overhead per 64 KiB)."""
    view = memoryview(data)
    parts: list[bytes | memoryview] = []
    for start in range(0, len(view), _STORED_BLOCK_MAX):
        block = view[start : start + _STORED_BLOCK_MAX]
        parts.append(struct.pack("<BHH", 0, len(block), len(block) ^ 0xFFFF))
        parts.append(block)
    return b"".join(parts)


def worth_deflating(backend: Backend, samples: Sequence[bytes], level: int) -> bool:
    """True when deflating *samples* saves at least :data:`MIN_SAVING` of their size."""
    raw = sum(len(sample) for sample in samples)
    if raw == 0:
        return False
    packed = sum(len(deflate_whole(backend, sample, level)) for sample in samples)
    return packed <= raw * (1 - MIN_SAVING)


# --- CRC-32 combination for the standard library backend (zlib has no crc32_combine). ---
# CRC(a + b) = CRC(a) * x^(8 * len(b)) + CRC(b) over GF(2) modulo the CRC polynomial
# (reflected). Multiplying by x^(2^k) uses a precomputed table, so a combine costs O(log n).
_POLY: Final = 0xEDB88320


def _multiply_mod_p(a: int, b: int) -> int:
    mask = 1 << 31
    product = 0
    while True:
        if a & mask:
            product ^= b
            if a & (mask - 1) == 0:
                return product
        mask >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


@functools.cache
def _powers_of_x() -> tuple[int, ...]:
    """x^(2^k) for k < 32: computed on first use (only the zlib backend combines here)."""
    table = [1 << 30]  # x^1 in reflected representation
    for _ in range(31):
        table.append(_multiply_mod_p(table[-1], table[-1]))
    return tuple(table)


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``len(b)``."""
    powers = _powers_of_x()
    power = 1 << 31  # x^0
    n, k = len2, 3  # x^(8 * len2) = x^(len2 * 2^3)
    while n:
        if n & 1:
            power = _multiply_mod_p(powers[k & 31], power)
        n >>= 1
        k += 1
    return _multiply_mod_p(power, crc1) ^ (crc2 & 0xFFFFFFFF)
