"""The fastest CRC-32 and raw-deflate decoder available: isal's when installed, else zlib's.

isal computes CRC-32 about five times and inflates about twice as fast as the zlib most
Pythons link; both produce identical results. :func:`new_stream_inflater` is the streaming
decoder the entry reader uses: with isal it is igzip's, which computes the CRC-32 of what
it produces in the same pass (no second read of the output); with zlib the caller computes
it. ``MAR_INFLATE_BACKEND=zlib`` forces the standard library (tests of the fallback use it).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol, cast

#: Environment variable that forces the standard library's zlib (``zlib``).
ENV_BACKEND = "MAR_INFLATE_BACKEND"


class Inflater(Protocol):
    """The part of a zlib ``Decompress`` object the entry reader uses."""

    @property
    def unconsumed_tail(self) -> bytes: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes | memoryview, max_length: int = ...) -> bytes: ...


class StreamInflater(Protocol):
    """A raw-deflate stream decoder whose output comes in bounded pieces.

    :meth:`inflate` yields what *data* decodes to, at most *limit* bytes a piece; after the
    last piece ``eof`` says whether the deflate stream ended and ``unused_data`` holds the
    bytes fed after its end. ``crc`` is the CRC-32 of everything produced so far, or None
    when this decoder does not compute it (then the caller must).
    """

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def crc(self) -> int | None: ...

    def inflate(self, data: bytes | memoryview, limit: int) -> Iterator[bytes]: ...


class _ZlibStream:
    """:class:`StreamInflater` over a zlib-style ``Decompress`` object (no CRC)."""

    crc = None

    def __init__(self, inflater: Inflater) -> None:
        self._inflater = inflater

    @property
    def eof(self) -> bool:
        return self._inflater.eof

    @property
    def unused_data(self) -> bytes:
        return self._inflater.unused_data

    def inflate(self, data: bytes | memoryview, limit: int) -> Iterator[bytes]:
        inflater = self._inflater
        while data:
            out = inflater.decompress(data, limit)
            if not out and len(inflater.unconsumed_tail) == len(data):
                return  # no progress: the end-of-stream checks report it
            data = inflater.unconsumed_tail
            if out:
                yield out


class _IgzipStream:
    """:class:`StreamInflater` over igzip's decoder in gzip-without-header mode: a raw
    deflate stream whose CRC-32 igzip computes while it decodes."""

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder

    @property
    def eof(self) -> bool:
        return bool(self._decoder.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._decoder.unused_data)

    @property
    def crc(self) -> int | None:
        return int(self._decoder.crc)

    def inflate(self, data: bytes | memoryview, limit: int) -> Iterator[bytes]:
        decoder = self._decoder
        if decoder.eof:
            return
        out: bytes = decoder.decompress(data, limit)
        while True:
            if out:
                yield out
            if decoder.eof or decoder.needs_input:
                return
            out = decoder.decompress(b"", limit)
            if not out and not decoder.eof and not decoder.needs_input:
                return  # no progress (cannot happen with a positive limit)


Crc32 = Callable[[bytes | memoryview, int], int]


def _pick() -> tuple[
    Crc32,
    Callable[[], Inflater],
    Callable[[], StreamInflater],
    tuple[type[BaseException], ...],
]:
    def zlib_stream() -> StreamInflater:
        return _ZlibStream(cast(Inflater, zlib.decompressobj(-15)))

    if os.environ.get(ENV_BACKEND, "") == "zlib":
        return _zlib(zlib_stream)
    try:
        from isal import igzip_lib, isal_zlib
    except ImportError:  # pragma: no cover - isal is an optional speed-up
        return _zlib(zlib_stream)

    def igzip_stream() -> StreamInflater:
        return _IgzipStream(igzip_lib.IgzipDecompressor(igzip_lib.DECOMP_GZIP_NO_HDR))

    def isal_zlib_stream() -> StreamInflater:
        return _ZlibStream(cast(Inflater, isal_zlib.decompressobj(-15)))

    # igzip's decoder reports its running CRC (``crc``) in the isal versions we know; an
    # older one without it falls back to isal's zlib-style decoder and a separate CRC pass.
    has_crc = hasattr(igzip_lib.IgzipDecompressor(igzip_lib.DECOMP_GZIP_NO_HDR), "crc")
    return (
        cast(Crc32, isal_zlib.crc32),
        lambda: cast(Inflater, isal_zlib.decompressobj(-15)),
        igzip_stream if has_crc else isal_zlib_stream,
        (
            zlib.error,
            EOFError,
            cast(type[BaseException], isal_zlib.error),
            cast(type[BaseException], igzip_lib.IsalError),
        ),
    )


def _zlib(
    stream: Callable[[], StreamInflater],
) -> tuple[
    Crc32,
    Callable[[], Inflater],
    Callable[[], StreamInflater],
    tuple[type[BaseException], ...],
]:
    return (
        cast(Crc32, zlib.crc32),
        lambda: cast(Inflater, zlib.decompressobj(-15)),
        stream,
        (zlib.error,),
    )


#: crc32(data, running_value) -> new running value.
crc32: Crc32
#: A fresh raw-deflate (no header) decompressor.
new_inflater: Callable[[], Inflater]
#: A fresh raw-deflate stream decoder (:class:`StreamInflater`).
new_stream_inflater: Callable[[], StreamInflater]
#: What a decompressor raises on corrupt input.
INFLATE_ERRORS: tuple[type[BaseException], ...]
crc32, new_inflater, new_stream_inflater, INFLATE_ERRORS = _pick()
#: Which implementation this process uses: ``"isal"`` or ``"zlib"``.
BACKEND = "zlib" if crc32 is zlib.crc32 else "isal"
