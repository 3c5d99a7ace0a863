"""Large stored entries start their data on a 64 KiB boundary (a padding extra field in the
local header): every reader still reads the same bytes, and small entries are not padded."""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import pytest

from tests.archiver.outputs import read_with_java, write
from tests.archiver.test_java import python_view
from torch_model_archiver import ArchiveSpec, build_archive
from torch_model_archiver.spec import ArchiveFormat
from torch_model_archiver.zip_format import (
    DATA_ALIGNMENT,
    PADDING_EXTRA_ID,
    STORED,
    ZipEntry,
    aligned,
)
from torch_model_archiver.zip_writer import ALIGNED_MIN


def local_extra(archive: Path, info: zipfile.ZipInfo) -> tuple[int, bytes]:
    """(where the entry's data starts, the local header's extra field)."""
    with open(archive, "rb") as raw:
        raw.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", raw.read(4))
        raw.seek(name_len, os.SEEK_CUR)
        extra = raw.read(extra_len)
    return info.header_offset + 30 + name_len + extra_len, extra


def build(model_dir: Path, fmt: ArchiveFormat) -> Path:
    write(model_dir / "big.bin", os.urandom(ALIGNED_MIN + 12345))
    write(model_dir / "under.bin", os.urandom(ALIGNED_MIN - 1))
    spec = ArchiveSpec(
        model_name="m",
        handler="handler.py",
        version="1",
        base_dir=model_dir,
        archive_format=fmt,
        extra_files=("under.bin", "big.bin"),
    )
    return build_archive(spec).path


@pytest.mark.parametrize("fmt", [ArchiveFormat.DEFAULT, ArchiveFormat.ZIP_STORE])
def test_large_stored_data_is_aligned_and_reads_back(model_dir: Path, fmt: ArchiveFormat) -> None:
    archive = build(model_dir, fmt)
    with zipfile.ZipFile(archive) as opened:
        assert opened.testzip() is None
        big = opened.getinfo("big.bin")
        assert big.compress_type == zipfile.ZIP_STORED
        assert big.extra == b""  # the central directory does not repeat the padding
        assert opened.read("big.bin") == (model_dir / "big.bin").read_bytes()
        start, extra = local_extra(archive, big)
        assert start % DATA_ALIGNMENT == 0
        ident, size = struct.unpack_from("<HH", extra)
        assert (ident, size) == (PADDING_EXTRA_ID, len(extra) - 4)
        assert extra[4:] == bytes(size)
        under_start, under_extra = local_extra(archive, opened.getinfo("under.bin"))
        assert under_extra == b""
        assert under_start % DATA_ALIGNMENT != 0


def test_java_reads_aligned_entries(model_dir: Path, java_reader: list[str]) -> None:
    archive = build(model_dir, ArchiveFormat.ZIP_STORE)
    assert read_with_java(java_reader, archive) == python_view(archive)


def entry(offset: int, name: bytes = b"w.bin", *, zip64: bool = False) -> ZipEntry:
    return ZipEntry(name, 0, STORED, 0, 33, 0o644, offset, zip64)


@pytest.mark.parametrize("offset", [0, 1, 100, DATA_ALIGNMENT - 35 - 4, 70_000, 3 << 30])
def test_padding_reaches_the_next_boundary(offset: int) -> None:
    padded = aligned(entry(offset))
    start = offset + len(padded.local_header())
    assert start % DATA_ALIGNMENT == 0
    assert 4 <= padded.padding < DATA_ALIGNMENT


@pytest.mark.parametrize(
    ("offset", "zip64"),
    [
        (DATA_ALIGNMENT - 35, False),  # already aligned
        (DATA_ALIGNMENT - 35 - 3, False),  # 3 bytes short: no room for an extra field
        (DATA_ALIGNMENT - 35 - 20 + 10, True),  # ZIP64's 20 bytes + 65,526 > 65,535
    ],
)
def test_no_padding_where_none_is_needed_or_fits(offset: int, zip64: bool) -> None:
    unpadded = entry(offset, zip64=zip64)
    assert aligned(unpadded) == unpadded
