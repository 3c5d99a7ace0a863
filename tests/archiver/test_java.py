"""Our zips read by Java's ZipInputStream, the reader TorchServe's frontend uses."""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.archiver.outputs import read_with_java, write
from torch_model_archiver import ArchiveSpec, build_archive
from torch_model_archiver.compression import CHUNK_SIZE
from torch_model_archiver.spec import ArchiveFormat


def python_view(archive: Path) -> list[tuple[str, int, str, str]]:
    with zipfile.ZipFile(archive) as opened:
        return [
            (
                info.filename,
                info.file_size,
                f"{zlib.crc32(opened.read(info)):08x}",
                "stored" if info.compress_type == zipfile.ZIP_STORED else "deflated",
            )
            for info in opened.infolist()
        ]


@pytest.mark.parametrize("fmt", [ArchiveFormat.DEFAULT, ArchiveFormat.ZIP_STORE])
def test_java_reads_every_kind_of_entry(
    model_dir: Path, java_reader: list[str], fmt: ArchiveFormat
) -> None:
    write(model_dir / "large_random.bin", os.urandom(2 * CHUNK_SIZE + 3))
    write(model_dir / "large_text.txt", b"tensor(0.25) " * (3 * CHUNK_SIZE // 13))
    write(model_dir / "mixed.bin", os.urandom(CHUNK_SIZE + 5) + bytes(2 * CHUNK_SIZE))
    write(model_dir / "empty", b"")
    write(model_dir / "données.json", '{"a": 1}')
    os.utime(model_dir / "model.py", (0, 0))
    spec = ArchiveSpec(
        model_name="m",
        handler="my_handler:fn",
        version="1",
        base_dir=model_dir,
        serialized_file=Path("weights.pt"),
        model_file=Path("model.py"),
        archive_format=fmt,
        extra_files=(
            "extra",
            "large_random.bin",
            "large_text.txt",
            "mixed.bin",
            "empty",
            "données.json",
        ),
    )
    result = build_archive(spec)
    java = read_with_java(java_reader, result.path)
    assert java == python_view(result.path)
    methods = {name: method for name, _, _, method in java}
    if fmt is ArchiveFormat.DEFAULT:
        assert methods["large_text.txt"] == methods["mixed.bin"] == "deflated"
        assert methods["large_random.bin"] == "stored"
    else:
        assert set(methods.values()) == {"stored"}


def test_java_reads_the_examples_layout_with_many_small_files(
    model_dir: Path, java_reader: list[str]
) -> None:
    for index in range(300):
        write(model_dir / "many" / f"f{index:03}.txt", f"file {index}\n" * (index % 7))
    spec = ArchiveSpec(
        model_name="m", handler="handler.py", version="1", base_dir=model_dir, extra_files=("many",)
    )
    result = build_archive(spec)
    assert read_with_java(java_reader, result.path) == python_view(result.path)
