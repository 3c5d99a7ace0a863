"""Finding local-header signatures: numpy's word comparison and ``bytes.find`` agree on every
position, at every alignment, across chunk borders, and in what the capture keeps."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mar_tools.validate.pickle import signature_search, torch_zip
from mar_tools.validate.pickle.signature_search import signature_positions

SIGNATURE = b"PK\x03\x04"


def planted(size: int, positions: list[int], seed: int) -> bytes:
    data = bytearray(random.Random(seed).randbytes(size))
    for position in positions:
        data[position : position + 4] = SIGNATURE
    return bytes(data)


def naive(data: bytes) -> list[int]:
    return [i for i in range(len(data) - 3) if data[i : i + 4] == SIGNATURE]


@pytest.mark.parametrize("size", [0, 3, 4, 5, 7, 8, 9, 4099, 300_001])
def test_both_ways_find_every_position(size: int) -> None:
    rng = random.Random(size)
    candidates = sorted({rng.randrange(size - 3) for _ in range(12)}) if size >= 4 else []
    positions = [p for i, p in enumerate(candidates) if i == 0 or p - candidates[i - 1] >= 4]
    data = planted(size, positions, size)
    expected = naive(data)
    assert set(positions) <= set(expected)
    assert signature_positions(data, SIGNATURE, vectorised=False) == expected
    assert signature_positions(data, SIGNATURE, vectorised=True) == expected
    assert signature_positions(memoryview(data), SIGNATURE, vectorised=True) == expected
    assert signature_positions(memoryview(data), SIGNATURE, vectorised=False) == expected
    assert signature_positions(data, SIGNATURE) == expected


def test_overlapping_and_edge_occurrences() -> None:
    data = b"PK\x03\x04PK\x03\x04" + b"PKPK\x03\x04" + bytes(5) + b"PK\x03\x04"
    expected = [0, 4, 10, len(data) - 4]
    assert naive(data) == expected
    for vectorised in (False, True):
        assert signature_positions(data, SIGNATURE, vectorised=vectorised) == expected


def test_every_alignment_of_a_long_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signature_search, "NUMPY_AFTER", 0)
    size = signature_search.VECTOR_MIN + 64
    for shift in range(8):
        positions = [shift, 1001 + shift, size - 4 - shift, size - 5 - 2 * shift]
        data = planted(size, positions, shift)
        assert signature_positions(data, SIGNATURE) == naive(data)


def test_many_partial_candidates() -> None:
    data = (b"PKPK\x03" * 5000 + b"PK\x03\x04") * 3
    assert signature_positions(data, SIGNATURE, vectorised=True) == naive(data)


def test_numpy_is_imported_only_after_enough_searching(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signature_search, "NUMPY_AFTER", 3 * signature_search.VECTOR_MIN)
    monkeypatch.setattr(signature_search, "_searched", 0)
    monkeypatch.setattr(signature_search, "_numpy_tried", False)
    monkeypatch.setattr(signature_search, "_numpy", None)
    data = planted(signature_search.VECTOR_MIN, [10], 1)
    for _ in range(3):
        assert signature_positions(data, SIGNATURE) == [10]
        assert not signature_search._numpy_tried
    assert signature_positions(data, SIGNATURE) == [10]
    assert signature_search._numpy_tried
    assert signature_search._numpy is not None


def test_a_signature_must_be_four_bytes() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        signature_positions(b"abcdef", b"PK")


def stream_zip(names: list[str]) -> bytes:
    """A zip like torch's: entries back to back, some pickles, with random bytes between."""
    out = io.BytesIO()
    rng = random.Random(7)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name in names:
            body = rng.randbytes(rng.randrange(1, 5000))
            if name.endswith(".pkl"):
                body = b"\x80\x02" + body[:100] + b"PK\x03\x04 not a header" + body[100:]
            archive.writestr(name, body)
    return out.getvalue()


@pytest.mark.parametrize("numpy_after", [0, 1 << 40])
@pytest.mark.parametrize("cut", [1, 5, 31, 1054, 1055, 4096, 1 << 20])
def test_captures_do_not_depend_on_cuts_or_search(
    numpy_after: int, cut: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signature_search, "NUMPY_AFTER", numpy_after)
    monkeypatch.setattr(signature_search, "VECTOR_MIN", 0)
    names = ["archive/data.pkl", "archive/data/0", "archive/x.pkl", "archive/version"]
    data = stream_zip(names)
    reference = zipfile.ZipFile(io.BytesIO(data))
    pieces = [data[i : i + cut] for i in range(0, len(data), cut)]
    found, entries = torch_zip.pickles_in_chunks(pieces)
    assert found == names
    captured = {entry.name: entry.stream.read() for entry in entries if entry.stream}
    assert captured == {name: reference.read(name) for name in names if name.endswith(".pkl")}


NUMPY_THREADS = """
import os, sys
from mar_tools.validate.pickle import signature_search
assert "numpy" not in sys.modules
assert signature_search._import_numpy() is not None
print(os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
@pytest.mark.parametrize("chosen", [None, "2"])
def test_numpy_is_imported_with_one_blas_thread_unless_chosen(chosen: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if chosen is not None:
        env["OPENBLAS_NUM_THREADS"] = chosen
    done = subprocess.run(
        [sys.executable, "-c", NUMPY_THREADS], env=env, capture_output=True, text=True, check=True
    )
    variable, threads = done.stdout.split()
    assert variable == str(chosen)  # put back as it was: unset, or the user's value
    assert int(threads) == int(chosen or 1)
