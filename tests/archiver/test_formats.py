"""The four output formats: same contents and layout; what each format's bytes look like."""

from __future__ import annotations

import gzip
import os
import stat
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.archiver.outputs import MANIFEST, entries, write
from torch_model_archiver import ArchiveSpec, build_archive
from torch_model_archiver.compression import CHUNK_SIZE, Backend, select_backend
from torch_model_archiver.spec import ArchiveFormat

FORMATS = list(ArchiveFormat)


def spec_for(
    model_dir: Path, fmt: ArchiveFormat = ArchiveFormat.DEFAULT, **extra: object
) -> ArchiveSpec:
    values: dict[str, object] = {
        "model_name": "m",
        "handler": "handler.py",
        "version": "1.0",
        "base_dir": model_dir,
        "archive_format": fmt,
        "serialized_file": Path("weights.pt"),
        "extra_files": ("extra", "index_to_name.json"),
        "force": True,
    }
    values.update(extra)
    return ArchiveSpec(**values)  # type: ignore[arg-type]


def test_all_formats_hold_the_same_files(model_dir: Path) -> None:
    contents = []
    for fmt in FORMATS:
        result = build_archive(spec_for(model_dir, fmt))
        found = entries(result.path)
        manifest = found.pop(MANIFEST)
        assert b'"createdOn"' in manifest
        contents.append(found)
    assert all(found == contents[0] for found in contents)
    assert sorted(contents[0]) == [
        ".env",
        "a.txt",
        "handler.py",
        "index_to_name.json",
        "sub/b.txt",
        "weights.pt",
    ]
    assert contents[0]["weights.pt"] == (model_dir / "weights.pt").read_bytes()


def test_zip_has_no_directory_entries_and_no_data_descriptors(model_dir: Path) -> None:
    result = build_archive(spec_for(model_dir))
    with zipfile.ZipFile(result.path) as archive:
        for info in archive.infolist():
            assert not info.is_dir()
            assert info.flag_bits & 0x08 == 0, f"{info.filename} has a data descriptor"
            assert info.create_system == 3
            assert stat.S_IMODE(info.external_attr >> 16) in (0o644, 0o755)
            assert stat.S_ISREG(info.external_attr >> 16)
            assert info.extra == b"", "no ZIP64 fields for small entries"
        assert archive.testzip() is None


def test_local_headers_carry_the_real_sizes_and_crc(model_dir: Path) -> None:
    """What Java's ZipInputStream relies on: it never reads the central directory."""
    result = build_archive(spec_for(model_dir))
    data = result.path.read_bytes()
    with zipfile.ZipFile(result.path) as archive:
        for info in archive.infolist():
            header = data[info.header_offset : info.header_offset + 30]
            (signature, _, flags, method, _, _, crc, compressed, size, name_length, _) = (
                struct.unpack("<IHHHHHIIIHH", header)
            )
            assert signature == 0x04034B50
            assert (flags, method, crc, compressed, size) == (
                info.flag_bits,
                info.compress_type,
                info.CRC,
                info.compress_size,
                info.file_size,
            )
            assert data[info.header_offset + 30 : info.header_offset + 30 + name_length] == (
                info.filename.encode()
            )


def test_executable_bit_is_kept_other_permissions_normalized(model_dir: Path) -> None:
    (model_dir / "handler.py").chmod(0o700)
    (model_dir / "weights.pt").chmod(0o600)
    result = build_archive(spec_for(model_dir))
    with zipfile.ZipFile(result.path) as archive:
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in archive.infolist()}
    assert modes["handler.py"] == 0o755
    assert modes["weights.pt"] == 0o644
    assert modes[MANIFEST] == 0o644


def test_tgz_nests_everything_under_the_model_name(model_dir: Path) -> None:
    result = build_archive(spec_for(model_dir, ArchiveFormat.TGZ))
    assert result.path.name == "m.tar.gz"
    with tarfile.open(result.path, "r:gz") as archive:
        members = archive.getmembers()
    assert all(member.name.startswith("m/") for member in members)
    assert all(member.isreg() for member in members), "no directory entries"
    assert members[-1].name == "m/" + MANIFEST
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}


def test_tgz_gzip_header_has_no_name_and_no_time(model_dir: Path) -> None:
    result = build_archive(spec_for(model_dir, ArchiveFormat.TGZ))
    header = result.path.read_bytes()[:10]
    assert header == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    raw = gzip.decompress(result.path.read_bytes())
    assert len(raw) % tarfile.RECORDSIZE == 0


def test_no_archive_writes_a_plain_directory(model_dir: Path) -> None:
    result = build_archive(spec_for(model_dir, ArchiveFormat.NO_ARCHIVE))
    assert result.path == model_dir / "m"
    assert (result.path / "sub" / "b.txt").read_text() == "b\n"
    assert (result.path / MANIFEST).is_file()
    assert [p.name for p in model_dir.iterdir() if p.name.startswith(".m")] == []


def test_zip_store_stores_everything_default_compresses_what_pays(model_dir: Path) -> None:
    write(model_dir / "text.json", '{"label": "value"}\n' * 5000)
    extra = {"extra_files": ("text.json",)}
    stored = build_archive(spec_for(model_dir, ArchiveFormat.ZIP_STORE, **extra))
    methods = {entry.name: entry.method for entry in stored.entries}
    assert set(methods.values()) == {"stored"}
    stored_size = stored.path.stat().st_size
    default = build_archive(spec_for(model_dir, ArchiveFormat.DEFAULT, force=True, **extra))
    methods = {entry.name: entry.method for entry in default.entries}
    assert methods["text.json"] == "deflated"
    assert methods["weights.pt"] == "stored", "random bytes do not shrink"
    assert default.path.stat().st_size < stored_size


def test_large_entries_store_incompressible_and_deflate_compressible(model_dir: Path) -> None:
    size = 3 * CHUNK_SIZE + 12345
    write(model_dir / "random.bin", os.urandom(size))
    write(model_dir / "zeros.bin", bytes(size))
    spec = spec_for(model_dir, extra_files=("random.bin", "zeros.bin"))
    result = build_archive(spec)
    by_name = {entry.name: entry for entry in result.entries}
    assert by_name["random.bin"].method == "stored"
    assert by_name["zeros.bin"].method == "deflated"
    assert by_name["zeros.bin"].stored_size < size // 100
    found = entries(result.path)
    assert found["random.bin"] == (model_dir / "random.bin").read_bytes()
    assert found["zeros.bin"] == bytes(size)


def test_mixed_entry_uses_stored_blocks_where_deflate_does_not_pay(model_dir: Path) -> None:
    noise = os.urandom(2 * CHUNK_SIZE)
    text = b"weights and more weights, " * (2 * CHUNK_SIZE // 26)
    write(model_dir / "mixed.bin", noise + text)
    result = build_archive(spec_for(model_dir, extra_files=("mixed.bin",)))
    record = next(entry for entry in result.entries if entry.name == "mixed.bin")
    assert record.method == "deflated"
    assert len(noise) < record.stored_size < len(noise) + len(text) // 10
    assert entries(result.path)["mixed.bin"] == noise + text


def test_output_does_not_depend_on_the_number_of_threads(model_dir: Path) -> None:
    write(model_dir / "big.txt", b"0123456789abcdef" * (CHUNK_SIZE // 4 * 5))
    archives = []
    for jobs in (1, 2, 5):
        spec = spec_for(
            model_dir,
            ArchiveFormat.DEFAULT,
            extra_files=("big.txt",),
            force=True,
            source_date_epoch=1_700_000_000,
        )
        archives.append(build_archive(spec, jobs=jobs).path.read_bytes())
    assert archives[0] == archives[1] == archives[2]


class _PaddingCompressor:
    """A real deflater that wastes space: after each sync flush it adds empty stored blocks
    (valid deflate, much larger). Used to reach the "deflated came out bigger" path."""

    def __init__(self, level: int, method: int, wbits: int) -> None:
        self._inner = zlib.compressobj(level, method, wbits)

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        return self._inner.compress(data)

    def flush(self, mode: int = zlib.Z_FINISH) -> bytes:
        tail = self._inner.flush(mode)
        return tail + b"\x00\x00\x00\xff\xff" * 300_000 if mode == zlib.Z_SYNC_FLUSH else tail


def test_a_deflated_entry_never_ends_up_larger_than_stored(model_dir: Path) -> None:
    wasteful = Backend(
        name="padding",
        compressobj=_PaddingCompressor,
        crc32=zlib.crc32,
        crc32_combine=select_backend("zlib").crc32_combine,
        fast_level=1,
        sync_flush=zlib.Z_SYNC_FLUSH,
        finish=zlib.Z_FINISH,
    )
    data = bytes(3 * CHUNK_SIZE)
    write(model_dir / "zeros.bin", data)
    result = build_archive(spec_for(model_dir, extra_files=("zeros.bin",)), backend=wasteful)
    record = next(entry for entry in result.entries if entry.name == "zeros.bin")
    assert (record.method, record.stored_size) == ("stored", len(data))
    with zipfile.ZipFile(result.path) as archive:
        assert archive.read("zeros.bin") == data
        assert archive.testzip() is None


@pytest.mark.parametrize("backend", ["zlib", "isal"])
def test_both_backends_write_valid_archives(
    model_dir: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAR_DEFLATE_BACKEND", backend)
    write(model_dir / "big.txt", b"abc" * CHUNK_SIZE)
    for fmt in (ArchiveFormat.DEFAULT, ArchiveFormat.TGZ):
        result = build_archive(spec_for(model_dir, fmt, extra_files=("big.txt",), force=True))
        assert entries(result.path)["big.txt"] == b"abc" * CHUNK_SIZE


def test_empty_files_and_unicode_names(model_dir: Path) -> None:
    write(model_dir / "empty.txt", b"")
    write(model_dir / "étiquettes.json", '{"0": "chat"}')
    spec = spec_for(model_dir, extra_files=("empty.txt", "étiquettes.json"))
    for fmt in FORMATS:
        result = build_archive(spec_for(model_dir, fmt, extra_files=spec.extra_files))
        found = entries(result.path)
        assert found["empty.txt"] == b""
        assert found["étiquettes.json"] == b'{"0": "chat"}'
    with zipfile.ZipFile(model_dir / "m.mar") as archive:
        info = archive.getinfo("étiquettes.json")
        assert info.flag_bits & 0x800, "UTF-8 flag set for a non-ASCII name"
        assert archive.getinfo("empty.txt").flag_bits & 0x800 == 0


def test_files_older_than_1980_work(model_dir: Path) -> None:
    """Upstream raises 'ZIP does not support timestamps before 1980'."""
    os.utime(model_dir / "handler.py", (0, 0))
    for fmt in FORMATS:
        result = build_archive(spec_for(model_dir, fmt))
        assert entries(result.path)["handler.py"] == (model_dir / "handler.py").read_bytes()
    with zipfile.ZipFile(model_dir / "m.mar") as archive:
        assert archive.getinfo("handler.py").date_time == (1980, 1, 1, 0, 0, 0)
    with tarfile.open(model_dir / "m.tar.gz") as archive:
        assert archive.getmember("m/handler.py").mtime == 0
