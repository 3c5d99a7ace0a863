"""Copying stored data in the kernel, with our own copy as the fallback, holes kept."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from torch_model_archiver.compression import select_backend
from torch_model_archiver.errors import SourceChangedError
from torch_model_archiver.pipeline import Pool
from torch_model_archiver.range_copy import RangeCopier

MiB = 1 << 20


@pytest.mark.parametrize("kernel", [True, False], ids=["copy_file_range", "read-write"])
def test_ranges_land_at_their_offsets_with_their_crc(tmp_path: Path, kernel: bool) -> None:
    data = os.urandom(3 * MiB + 17)
    source = tmp_path / "source"
    source.write_bytes(data)
    target = tmp_path / "target"
    target.write_bytes(b"header!")
    fd, out = os.open(source, os.O_RDONLY), os.open(target, os.O_RDWR)
    try:
        with Pool[object](2) as pool:
            copier = RangeCopier(out, pool, select_backend())
            copier.kernel_copy = kernel and copier.kernel_copy
            pieces = [(0, MiB), (MiB, MiB), (2 * MiB, MiB + 17)]
            crcs = [copier.copy(fd, offset, size, 7 + offset, source) for offset, size in pieces]
            results = [future.result() for future in crcs]
    finally:
        os.close(fd)
        os.close(out)
    assert target.read_bytes() == b"header!" + data
    assert results == [zlib.crc32(data[o : o + s]) for o, s in pieces]


def test_holes_stay_holes(tmp_path: Path) -> None:
    source = tmp_path / "sparse"
    with open(source, "wb") as stream:
        stream.truncate(64 * MiB)
        stream.seek(60 * MiB)
        stream.write(b"data")
    target = tmp_path / "target"
    target.write_bytes(b"")
    fd, out = os.open(source, os.O_RDONLY), os.open(target, os.O_RDWR)
    try:
        with Pool[object](1) as pool:
            copier = RangeCopier(out, pool, select_backend())
            crcs = [
                copier.copy(fd, offset, 4 * MiB, offset, source).result()
                for offset in range(0, 64 * MiB, 4 * MiB)
            ]
            os.ftruncate(out, 64 * MiB)
    finally:
        os.close(fd)
        os.close(out)
    assert target.read_bytes() == source.read_bytes()
    assert crcs[0] == zlib.crc32(bytes(4 * MiB))
    if target.stat().st_blocks * 512 >= source.stat().st_blocks * 512 + 8 * MiB:
        pytest.fail("the holes of the source were written out")


def test_a_shrunk_source_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.write_bytes(os.urandom(MiB))
    target = tmp_path / "target"
    target.write_bytes(b"")
    fd, out = os.open(source, os.O_RDONLY), os.open(target, os.O_RDWR)
    try:
        with Pool[object](1) as pool:
            copier = RangeCopier(out, pool, select_backend())
            for kernel in (True, False):
                copier.kernel_copy = kernel
                with pytest.raises(SourceChangedError):
                    copier.copy(fd, MiB // 2, MiB, 0, source)
    finally:
        os.close(fd)
        os.close(out)
