"""The chunked deflate stream: chunks compressed separately concatenate into one valid stream."""

from __future__ import annotations

import os
import random
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_model_archiver.compression import (
    END_OF_STREAM,
    PROBE_SIZE,
    Backend,
    crc32_combine,
    deflate_chunk,
    deflate_small,
    deflate_whole,
    select_backend,
    stored_blocks,
    worth_deflating,
)

BACKENDS = [select_backend("zlib"), select_backend("isal")]


def inflate(stream: bytes) -> bytes:
    decompressor = zlib.decompressobj(-15)
    out = decompressor.decompress(stream) + decompressor.flush()
    assert decompressor.eof, "the stream must end with a final block"
    assert decompressor.unused_data == b""
    return out


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda backend: backend.name.split()[0])
def test_chunks_concatenate_into_one_stream(backend: Backend) -> None:
    pieces = [os.urandom(100_000), b"a" * 300_000, b"", b"xyz" * 50_000, os.urandom(10)]
    stream = b"".join(deflate_chunk(backend, piece, backend.fast_level) for piece in pieces)
    assert inflate(stream + END_OF_STREAM) == b"".join(pieces)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.binary(max_size=3000) | st.builds(lambda n: b"q" * n, st.integers(0, 200_000)),
        max_size=6,
    )
)
def test_any_split_of_any_data_round_trips(pieces: list[bytes]) -> None:
    for backend in BACKENDS:
        stream = b"".join(deflate_chunk(backend, piece, backend.fast_level) for piece in pieces)
        assert inflate(stream + END_OF_STREAM) == b"".join(pieces)


def test_incompressible_chunks_become_stored_blocks() -> None:
    backend = select_backend()
    noise = os.urandom(3 * PROBE_SIZE + 7)
    packed = deflate_chunk(backend, noise, backend.fast_level)
    blocks = -(-len(noise) // 0xFFFF)
    assert packed == stored_blocks(noise)
    assert len(packed) == len(noise) + 5 * blocks
    assert inflate(packed + END_OF_STREAM) == noise


def test_stored_blocks_split_at_64k() -> None:
    data = bytes(range(256)) * 600
    packed = stored_blocks(data)
    assert packed[:5] == b"\x00\xff\xff\x00\x00"
    assert inflate(packed + END_OF_STREAM) == data


def test_end_of_stream_is_what_zlib_finishes_with_after_a_sync_flush() -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    compressor.compress(b"x")
    compressor.flush(zlib.Z_SYNC_FLUSH)
    assert compressor.flush(zlib.Z_FINISH) == END_OF_STREAM


def test_whole_deflate_is_a_complete_stream() -> None:
    for backend in BACKENDS:
        assert inflate(deflate_whole(backend, b"hello " * 100, backend.fast_level)) == (
            b"hello " * 100
        )
    assert inflate(deflate_small(b"hello " * 100)) == b"hello " * 100


def test_sampling_decides_by_the_saving() -> None:
    backend = select_backend()
    assert worth_deflating(backend, [b"abc" * 10_000], backend.fast_level)
    assert not worth_deflating(backend, [os.urandom(30_000)], backend.fast_level)
    assert not worth_deflating(backend, [], backend.fast_level)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000), st.binary(max_size=2000))
def test_crc32_combine_matches_zlib(first: bytes, second: bytes) -> None:
    expected = zlib.crc32(first + second)
    assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == expected


def test_crc32_combine_for_large_lengths() -> None:
    block = os.urandom(1 << 16)
    crc = 0
    for _ in range(64):
        crc = crc32_combine(crc, zlib.crc32(block), len(block))
    assert crc == zlib.crc32(block * 64)


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAR_DEFLATE_BACKEND", "zlib")
    assert select_backend().name.startswith("zlib ")
    monkeypatch.delenv("MAR_DEFLATE_BACKEND")
    pytest.importorskip("isal")
    assert select_backend().name.startswith("isal ")


def test_text_chunks_get_upstreams_level_weights_the_fast_one() -> None:
    """Text (here: this project's code) compressed with isal's fast level is a fifth bigger
    than with zlib's level 6; weights compress as well with the fast level."""
    sources = sorted(Path(__file__).resolve().parents[2].glob("torch_model_archiver/*.py"))
    text = b"".join(path.read_bytes() for path in sources)[: 4 * PROBE_SIZE]
    level6 = zlib.compressobj(6, zlib.DEFLATED, -15)
    expected = level6.compress(text) + level6.flush(zlib.Z_SYNC_FLUSH)
    for backend in BACKENDS:
        assert deflate_chunk(backend, text, backend.fast_level) == expected
    gauss = random.Random(0).gauss
    weights = struct.pack(f"<{PROBE_SIZE}f", *(gauss(0, 0.02) for _ in range(PROBE_SIZE)))
    for backend in BACKENDS:
        fast = backend.compressobj(backend.fast_level, zlib.DEFLATED, -15)
        head = fast.compress(weights[:PROBE_SIZE]) + fast.flush(zlib.Z_SYNC_FLUSH)
        rest = fast.compress(weights[PROBE_SIZE:]) + fast.flush(zlib.Z_SYNC_FLUSH)
        assert deflate_chunk(backend, weights, backend.fast_level) == head + rest
