"""Stored entries copied by the kernel (issue 15): the same tree, digest and refusals as the
plain path, with ``copy_file_range`` working, missing or failing, and with BLAKE3 or the
SHA-256 fallback naming the extraction."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mar_tools.core.archive import archive_hash, kernel_copy
from mar_tools.core.archive.extractor import extract_archive
from mar_tools.core.errors import ArchiveError
from mar_tools.core.extraction import prepare_model_dir
from mar_tools.core.extraction_store import extractions
from tests.run.support import extraction_name, manifest, published

MIB = 1 << 20
#: Random (incompressible) bytes: entries larger than kernel_copy.MIN_SIZE, of sizes that
#: end mid-block and mid-page, and small ones that stay on the plain path. The reader reads
#: the first 4 MiB of the archive before any entry is copied (those bytes are written from
#: its buffer): the kernel copies what follows.
BIG = random.Random(15).randbytes(9 * MIB + 12345)
MIDDLE = random.Random(16).randbytes(MIB + 1)


def _archive(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as writer:
        writer.writestr("MAR-INF/MANIFEST.json", manifest("handler.py"))
        writer.writestr("handler.py", "def handle(data, context):\n    return data\n")
        writer.writestr("weights.bin", BIG, zipfile.ZIP_STORED)
        writer.writestr("config/small.json", '{"a": 1}', zipfile.ZIP_STORED)
        writer.writestr("deflated.bin", BIG[: 2 * MIB], zipfile.ZIP_DEFLATED)
        writer.writestr("sub/middle.bin", MIDDLE, zipfile.ZIP_STORED)
        writer.writestr("empty.bin", b"", zipfile.ZIP_STORED)
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _expected(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as reader:
        return {info.filename: reader.read(info) for info in reader.infolist()}


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 1 MiB: a 9 MiB entry crosses several copies and mappings."""
    monkeypatch.setattr(kernel_copy, "BLOCK", MIB)


def _no_copy_file_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "copy_file_range")


def _failing_copy_file_range(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse)


def _in_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """``copy_file_range`` as it is, counting its calls in ``CALLS``."""
    real = os.copy_file_range

    def counted(*args: int) -> int:
        CALLS.append(args[2])
        return real(*args)

    CALLS.clear()
    monkeypatch.setattr(os, "copy_file_range", counted)


CALLS: list[int] = []


WAYS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "copy_file_range": _in_kernel,
    "no copy_file_range": _no_copy_file_range,
    "copy_file_range fails": _failing_copy_file_range,
}


@pytest.mark.parametrize("algorithm", archive_hash.ALGORITHMS)
@pytest.mark.parametrize("way", WAYS)
def test_every_way_extracts_the_same_tree_under_the_digest_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str, algorithm: str
) -> None:
    archive = _archive(tmp_path / "m.mar")
    WAYS[way](monkeypatch)
    target = tmp_path / "out"
    target.mkdir()
    done = extract_archive(archive, target, algorithm=algorithm)
    assert _tree(target) == _expected(archive)
    data = archive.read_bytes()
    if algorithm == "sha256":
        assert done.name == f"sha256-{hashlib.sha256(data).hexdigest()}"
    else:
        blake3 = pytest.importorskip("blake3")
        assert done.name == f"blake3-{blake3.blake3(data).hexdigest()}"
    assert (done.files, done.size) == (7, sum(map(len, _expected(archive).values())))
    if way == "copy_file_range":  # the kernel copied most of weights.bin and all of middle
        assert len(CALLS) >= 6 and sum(CALLS) > len(BIG) // 2


def test_without_the_blake3_package_extractions_are_named_by_sha256(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _archive(tmp_path / "m.mar")
    cache = tmp_path / "cache"
    monkeypatch.setitem(sys.modules, "blake3", None)  # `import blake3` raises ImportError
    assert archive_hash.preferred_algorithm() == "sha256"
    found = prepare_model_dir(archive, cache)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert (found.how, found.model_dir.name) == ("extracted", f"sha256-{digest}")
    assert _tree(found.model_dir) == _expected(archive)
    monkeypatch.undo()
    # With blake3 installed later, the SHA-256 extraction is still the archive's: the
    # index remembers its name, and `mar cache` lists it.
    again = prepare_model_dir(archive, cache)
    assert (again.how, again.model_dir) == ("cached", found.model_dir)
    assert [e.name for e in extractions(cache)] == [found.model_dir.name]


def test_names_of_either_algorithm_and_bare_legacy_digests_are_read() -> None:
    hexdigest = "0123456789abcdef" * 4
    assert archive_hash.parse_name(f"blake3-{hexdigest}") == f"blake3-{hexdigest}"
    assert archive_hash.parse_name(f"sha256-{hexdigest}") == f"sha256-{hexdigest}"
    assert archive_hash.parse_name(hexdigest) == f"sha256-{hexdigest}"  # before BLAKE3
    for bad in (f"md5-{hexdigest}", f"blake3-{hexdigest[:-1]}", f"sha256-{hexdigest.upper()}"):
        assert archive_hash.parse_name(bad) is None


@pytest.mark.parametrize("where", [MIB, 6 * MIB])  # in the reader's first buffer, or not
@pytest.mark.parametrize("way", WAYS)
def test_a_stored_entry_that_does_not_match_its_crc_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str, where: int
) -> None:
    archive = _archive(tmp_path / "m.mar")
    data = bytearray(archive.read_bytes())
    at = bytes(data).index(BIG[where : where + 64]) + 5  # inside weights.bin
    data[at] ^= 0xFF
    archive.write_bytes(data)
    WAYS[way](monkeypatch)
    with pytest.raises(ArchiveError, match=r"weights.bin CRC-32 is [0-9a-f]{8} but"):
        prepare_model_dir(archive, tmp_path / "cache")
    assert published(tmp_path / "cache" / "v2") == []


def test_an_archive_truncated_inside_a_stored_entry_is_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "m.mar")
    data = archive.read_bytes()
    cut = tmp_path / "cut.mar"
    cut.write_bytes(data[: data.index(BIG[6 * MIB : 6 * MIB + 64])])
    with pytest.raises(ArchiveError):
        prepare_model_dir(cut, tmp_path / "cache")
    assert published(tmp_path / "cache" / "v2") == []


def _during_the_copy(monkeypatch: pytest.MonkeyPatch, action: Callable[[], object]) -> None:
    """Run *action* once, just before the kernel's second copy of an entry's bytes."""
    real = os.copy_file_range
    calls = [0]

    def copy(*args: int) -> int:
        calls[0] += 1
        if calls[0] == 2:
            action()
        return real(*args)

    monkeypatch.setattr(os, "copy_file_range", copy)


def test_bytes_written_in_place_while_the_kernel_copies_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _archive(tmp_path / "m.mar")
    data = archive.read_bytes()
    at = data.index(BIG[7 * MIB : 7 * MIB + 64])  # not yet copied at the second call
    before = archive.stat()

    def write_in_place() -> None:
        with open(archive, "r+b") as handle:
            handle.seek(at)
            handle.write(b"\0" * 4096)
        # Even with the mtime set back, the CRC of the bytes written gives it away.
        os.utime(archive, ns=(before.st_atime_ns, before.st_mtime_ns))

    _during_the_copy(monkeypatch, write_in_place)
    with pytest.raises(ArchiveError, match=r"weights.bin CRC-32 is"):
        prepare_model_dir(archive, tmp_path / "cache")
    assert published(tmp_path / "cache" / "v2") == []


def test_an_archive_renamed_over_while_the_kernel_copies_cannot_mix_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _archive(tmp_path / "m.mar")
    old_name, old_tree = extraction_name(archive), _expected(archive)
    new = tmp_path / "new.mar"
    with zipfile.ZipFile(new, "w") as writer:
        writer.writestr("MAR-INF/MANIFEST.json", manifest("handler.py"))
        writer.writestr("handler.py", "NEW = 1\n")
        writer.writestr("weights.bin", bytes(len(BIG)), zipfile.ZIP_STORED)
    _during_the_copy(monkeypatch, lambda: new.replace(archive))
    found = prepare_model_dir(archive, tmp_path / "cache")
    assert not new.exists()  # it was renamed over the archive during the copy
    assert found.model_dir.name == old_name
    assert _tree(found.model_dir) == old_tree


def test_without_hashing_the_kernel_copy_still_checks_every_crc(tmp_path: Path) -> None:
    """``mar extract`` and ``--no-cache`` extract without hashing: the CRC-32 of the bytes
    written is still computed (on the hashing thread) and checked."""
    archive = _archive(tmp_path / "m.mar")
    target = tmp_path / "out"
    target.mkdir()
    done = extract_archive(archive, target, hashing=False)
    assert (done.digest, done.algorithm) == ("", "")
    assert _tree(target) == _expected(archive)
    data = bytearray(archive.read_bytes())
    data[bytes(data).index(BIG[6 * MIB : 6 * MIB + 64])] ^= 1
    archive.write_bytes(data)
    again = tmp_path / "again"
    again.mkdir()
    with pytest.raises(ArchiveError, match=r"weights.bin CRC-32 is"):
        extract_archive(archive, again, hashing=False)
