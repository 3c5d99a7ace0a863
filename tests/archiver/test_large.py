"""Entries over 4 GiB (ZIP64), from a sparse file so that the test costs little disk and time.

The stored archive holds the 4.5 GiB entry (as holes: runs of zeros are not written), so it
also covers entries whose offsets are beyond 4 GiB and a ZIP64 end of central directory."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.archiver.outputs import read_with_java, write
from torch_model_archiver import ArchiveSpec, build_archive
from torch_model_archiver.compression import select_backend
from torch_model_archiver.spec import ArchiveFormat
from torch_model_archiver.zip_format import DATA_ALIGNMENT, PADDING_EXTRA_ID

SIZE = (4 << 30) + (512 << 20)
MARKS = {0: b"start", (4 << 30) - 2: b"across4G", SIZE - 3: b"end"}

pytestmark = pytest.mark.slow


@pytest.fixture
def sparse(model_dir: Path) -> Path:
    path = model_dir / "huge.bin"
    with open(path, "wb") as stream:
        stream.truncate(SIZE)
        for offset, mark in MARKS.items():
            stream.seek(offset)
            stream.write(mark)
    assert path.stat().st_size == SIZE
    write(model_dir / "zz_after.txt", "after the big one")
    return path


def local_header(archive: Path, offset: int) -> tuple[int, int, bytes]:
    """(compressed size field, size field, extra) of the local header at *offset*."""
    with open(archive, "rb") as stream:
        stream.seek(offset)
        fixed = stream.read(30)
        compressed, size, name_length, extra_length = struct.unpack("<IIHH", fixed[18:30])
        stream.seek(offset + 30 + name_length)
        return compressed, size, stream.read(extra_length)


def data_offset(archive: Path, info: zipfile.ZipInfo) -> int:
    """Where an entry's data starts: after the 30-byte header, the name and the extra field
    (ZIP64's, and for a stored entry the padding that aligns its data)."""
    extra = local_header(archive, info.header_offset)[2]
    return info.header_offset + 30 + len(info.filename) + len(extra)


def build(model_dir: Path, fmt: ArchiveFormat) -> tuple[Path, zipfile.ZipInfo, zipfile.ZipInfo]:
    spec = ArchiveSpec(
        model_name="m",
        handler="handler.py",
        version="1",
        base_dir=model_dir,
        serialized_file=Path("huge.bin"),
        extra_files=("zz_after.txt",),
        archive_format=fmt,
    )
    path = build_archive(spec).path
    with zipfile.ZipFile(path) as archive:
        huge, after = archive.getinfo("huge.bin"), archive.getinfo("zz_after.txt")
        assert archive.read(after) == b"after the big one"
    assert huge.file_size == SIZE
    compressed, declared, extra = local_header(path, huge.header_offset)
    assert (compressed, declared) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert extra[:20] == struct.pack("<HHQQ", 1, 16, SIZE, huge.compress_size)
    if huge.compress_type == zipfile.ZIP_STORED:
        assert extra[20:22] == struct.pack("<H", PADDING_EXTRA_ID)
        assert (huge.header_offset + 30 + len(huge.filename) + len(extra)) % DATA_ALIGNMENT == 0
    else:
        assert len(extra) == 20
    assert local_header(path, after.header_offset)[2] == b"", "no ZIP64 fields when small"
    return path, huge, after


def test_deflated_entry_over_4_gib(model_dir: Path, sparse: Path) -> None:
    """Checked by inflating the raw stream with isal (Python's zipfile and Java take ~15 s)."""
    path, huge, _ = build(model_dir, ArchiveFormat.DEFAULT)
    assert huge.compress_type == zipfile.ZIP_DEFLATED
    assert huge.compress_size < 64 << 20
    backend = select_backend()
    inflater = _decompressobj()
    crc = position = 0
    with open(path, "rb") as stream:
        stream.seek(data_offset(path, huge))
        remaining, pending = huge.compress_size, b""
        while remaining or pending:
            if not pending:
                pending = stream.read(min(remaining, 1 << 16))
                remaining -= len(pending)
            block = inflater.decompress(pending, 16 << 20)  # bounded output per call
            pending = inflater.unconsumed_tail
            for offset, mark in MARKS.items():
                if position <= offset < position + len(block):
                    assert block[offset - position : offset - position + len(mark)] == mark
            crc = backend.crc32(block, crc)
            position += len(block)
    assert inflater.eof and position == SIZE
    assert crc == huge.CRC


def _decompressobj() -> Any:
    """isal's inflater (4x faster than zlib's here), else zlib's."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib.decompressobj(-15)
    return isal_zlib.decompressobj(-15)


def test_stored_entry_over_4_gib_and_offsets_beyond(
    model_dir: Path, sparse: Path, java_reader: list[str]
) -> None:
    path, huge, after = build(model_dir, ArchiveFormat.ZIP_STORE)
    assert after.header_offset > 0xFFFFFFFF
    assert path.stat().st_blocks * 512 < 64 << 20, "runs of zeros are left as holes"
    with open(path, "rb") as stream:  # ZipExtFile.seek reads up to the offset on 3.11
        for offset, mark in MARKS.items():
            stream.seek(data_offset(path, huge) + offset)
            assert stream.read(len(mark)) == mark
    rows = read_with_java(java_reader, path)
    assert [(name, length) for name, length, _, _ in rows] == [
        ("handler.py", 43),
        ("huge.bin", SIZE),
        ("zz_after.txt", 17),
        ("MAR-INF/MANIFEST.json", rows[-1][1]),
    ]
    assert rows[1][2] == f"{huge.CRC:08x}"
    path.unlink()
