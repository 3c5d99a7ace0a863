"""Large DEFLATED entries: inflated ahead on a worker thread, several checked side by side,
and the same verdicts with isal's decoder (CRC computed while decoding) and with zlib's."""

from __future__ import annotations

import gc
import os
import struct
import subprocess
import sys
import threading
import zipfile
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from mar_tools.core.archive import codec, entry_reader
from mar_tools.core.archive.read_ahead import read_ahead
from mar_tools.validate import content
from tests.validate.builders import (
    central_record_offset,
    check,
    data_offset,
    local_header_offset,
    members,
    patch,
    write_zip,
)

ROOT = Path(__file__).resolve().parents[2]
SHARD = 3 << 20  # bytes of each shard: over the lowered thresholds below


def shards(weights: bytes, count: int = 4) -> dict[str, bytes]:
    """The valid model's files plus *count* incompressible shards (deflate stores them in
    stored blocks: the compressed size stays about the shard's)."""
    files = members(weights)
    for index in range(count):
        files[f"extra/shard-{index}.dat"] = os.urandom(SHARD)
    return files


@pytest.fixture
def low_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read ahead and check in parallel from 1 MiB (the defaults are 8 and 16 MiB)."""
    monkeypatch.setattr(entry_reader, "READ_AHEAD_SIZE", 1 << 20)
    monkeypatch.setattr(content, "PARALLEL_SIZE", 1 << 20)
    monkeypatch.setattr(content, "worker_count", lambda: 2)


@pytest.mark.usefixtures("low_thresholds")
def test_several_large_entries_checked_in_parallel_are_valid(
    tmp_path: Path, weights: bytes
) -> None:
    path = write_zip(tmp_path / "m.mar", shards(weights))
    assert check(path).findings == ()


@pytest.mark.usefixtures("low_thresholds")
def test_damage_in_parallel_entries_is_reported_in_file_order(
    tmp_path: Path, weights: bytes
) -> None:
    path = write_zip(tmp_path / "m.mar", shards(weights))
    # A flipped byte inside a stored block: inflates fine, so only the CRC can tell.
    patch(path, data_offset(path, "extra/shard-1.dat") + SHARD // 2, b"\x00\x01\x02")
    # Garbage where a deflate block header is: cannot be inflated.
    patch(path, data_offset(path, "extra/shard-3.dat"), b"\xff\xff\xff\xff")
    found = [(f.code, f.location.member) for f in check(path).findings]
    assert found == [
        ("entry.crc-mismatch", "extra/shard-1.dat"),
        ("entry.corrupt", "extra/shard-3.dat"),
    ]


@pytest.mark.usefixtures("low_thresholds")
def test_a_lying_size_stops_a_read_ahead_entry(tmp_path: Path, weights: bytes) -> None:
    path = write_zip(tmp_path / "m.mar", shards(weights, count=1))
    name = "extra/shard-0.dat"
    for offset in (local_header_offset(path, name) + 22, central_record_offset(path, name) + 24):
        patch(path, offset, struct.pack("<I", 1 << 20))  # uncompressed size: 1 MiB
    corrupt = [f.message for f in check(path).findings if f.code == "entry.corrupt"]
    assert corrupt == [f"extra/shard-0.dat decompresses to more than the {1 << 20} bytes declared."]


def test_read_ahead_hands_over_items_and_errors_in_order() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("broken")

    seen: list[int] = []
    with pytest.raises(ValueError, match="broken"):
        for item in read_ahead(produce(), 1):
            seen.append(item)
    assert seen == [1, 2]


def test_closing_a_read_ahead_stops_its_worker() -> None:
    produced: list[int] = []

    def produce() -> Iterator[int]:
        for index in range(10_000):
            produced.append(index)
            yield index

    stream = read_ahead(produce(), 2)
    assert next(stream) == 0
    assert isinstance(stream, Generator)
    stream.close()
    count = len(produced)
    assert count < 10  # at most depth items ahead, and then it stopped
    assert len(produced) == count


@pytest.mark.parametrize("backend", ["zlib", "isal"])
def test_both_inflate_backends_give_the_same_verdicts(
    tmp_path: Path, weights: bytes, backend: str
) -> None:
    """In a fresh interpreter (the backend is chosen at import): zlib forced by
    ``MAR_INFLATE_BACKEND``, else isal when installed."""
    if backend == "isal" and codec.BACKEND != "isal":
        pytest.skip("isal is not installed")
    path = write_zip(tmp_path / "m.mar", shards(weights, count=2))
    patch(path, data_offset(path, "extra/shard-1.dat") + SHARD // 2, b"\x00\x01\x02")
    script = (
        "import sys\n"
        "from mar_tools.core.archive import codec\n"
        "from mar_tools.core.archive import entry_reader\n"
        "from mar_tools.validate.pipeline import validate_archive\n"
        "entry_reader.READ_AHEAD_SIZE = 1 << 20\n"
        "result = validate_archive(sys.argv[1])\n"
        "print(codec.BACKEND, [(f.code, f.location.member) for f in result.findings])\n"
    )
    env = {**os.environ, codec.ENV_BACKEND: backend}
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == (f"{backend} [('entry.crc-mismatch', 'extra/shard-1.dat')]")


def test_an_abandoned_read_ahead_stream_is_collected_and_its_worker_stops(
    tmp_path: Path, weights: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entry_reader, "READ_AHEAD_SIZE", 1 << 20)
    path = write_zip(tmp_path / "m.mar", shards(weights, count=1))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("extra/shard-0.dat")
    with open(path, "rb", buffering=0) as raw:
        stream = entry_reader.EntryStream.at(
            raw,
            data_offset(path, info.filename),
            info.compress_size,
            info.file_size,
            info.CRC,
            info.compress_type,
        )
        assert len(stream.read(1000)) == 1000
        assert any(t.name == "mar-read-ahead" for t in threading.enumerate())
        del stream  # neither finished nor closed
        gc.collect()
        assert not any(t.name == "mar-read-ahead" for t in threading.enumerate())
