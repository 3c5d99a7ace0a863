"""``mar repack``: every format into every format with the same content digest,
reproducibly; --normalize makes an upstream-built archive byte for byte ours; zips of a
folder become proper archives; unsafe, damaged and existing outputs are refused."""

from __future__ import annotations

import io
import itertools
import os
import random
import tarfile
import zipfile
from pathlib import Path

import pytest

from mar_tools.core.digest import archive_digest
from tests.inspect.commands import mar
from tests.inspect.models import EPOCH, FORMATS, build, build_upstream, model_dir
from tests.validate.builders import data_offset, members, patch, write_zip

SUFFIX = {"default": ".mar", "zip-store": ".mar", "tgz": ".tar.gz", "no-archive": ""}


def tree(path: Path) -> dict[str, tuple[bytes, int, int]]:
    """A directory's files: bytes, mode and mtime."""
    return {
        file.relative_to(path).as_posix(): (
            file.read_bytes(), file.stat().st_mode & 0o777, int(file.stat().st_mtime)
        )
        for file in sorted(path.rglob("*"))
        if file.is_file()
    }  # fmt: skip


def same_output(first: Path, second: Path) -> bool:
    if first.is_dir():
        return tree(first) == tree(second)
    return first.read_bytes() == second.read_bytes()


def repack(source: Path, fmt: str, target: Path, *flags: str, epoch: bool = True) -> Path:
    env = {"SOURCE_DATE_EPOCH": str(EPOCH)} if epoch else {}
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        code, out, err = mar("repack", str(source), "--archive-format", fmt, "-o", str(target),
                             *flags)  # fmt: skip
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert (code, out, err) == (0, "", "")
    return target


@pytest.mark.parametrize(("source", "fmt"), list(itertools.product(FORMATS, FORMATS)))
def test_every_format_into_every_format(
    archives: dict[str, Path], tmp_path: Path, source: str, fmt: str
) -> None:
    original = archives[source]
    first = repack(original, fmt, tmp_path / "a" / f"m{SUFFIX[fmt]}")
    second = repack(original, fmt, tmp_path / "b" / f"m{SUFFIX[fmt]}")
    assert archive_digest(first).value == archive_digest(original).value
    assert same_output(first, second)  # reproducible
    # With the build's SOURCE_DATE_EPOCH, the output is what the archiver builds directly.
    assert same_output(first, archives[fmt])


def test_default_to_zip_store_stores_everything_and_copies_in_place(
    tmp_path: Path,
) -> None:
    big = os.urandom(3 << 20)  # random: the default format stores it as it is
    source = build(model_dir(tmp_path / "src", big), tmp_path / "d", "default")
    with zipfile.ZipFile(source) as archive:
        assert archive.getinfo("weights.pt").compress_type == zipfile.ZIP_STORED
        assert archive.getinfo("handler.py").compress_type == zipfile.ZIP_DEFLATED
    output = repack(source, "zip-store", tmp_path / "s.mar")
    with zipfile.ZipFile(output) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
        assert archive.read("weights.pt") == big
        assert [info.filename for info in archive.infolist()][-1] == "MAR-INF/MANIFEST.json"
        assert all(info.flag_bits & 0x08 == 0 for info in archive.infolist())


def test_timestamps_are_the_sources_without_an_epoch(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    output = repack(archives["tgz"], "default", tmp_path / "m.mar", epoch=False)
    with zipfile.ZipFile(output) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


@pytest.mark.compat
@pytest.mark.parametrize("fmt", FORMATS)
def test_normalize_makes_an_upstream_archive_ours(
    upstream_archiver: Path, sources: Path, archives: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    theirs = build_upstream(upstream_archiver, sources, tmp_path / "up", fmt)
    plain = repack(theirs, fmt, tmp_path / "plain" / f"m{SUFFIX[fmt]}")
    assert archive_digest(plain).value == archive_digest(theirs).value
    normalized = repack(theirs, fmt, tmp_path / "n" / f"m{SUFFIX[fmt]}", "--normalize")
    assert same_output(normalized, archives[fmt])


def test_a_zip_of_a_folder_becomes_an_archive(archives: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "folder.zip"
    with zipfile.ZipFile(archives["default"]) as source, zipfile.ZipFile(folder, "w") as out:
        out.writestr("m/", b"")
        out.writestr("m/MAR-INF/", b"")
        for info in source.infolist():
            out.writestr(f"m/{info.filename}", source.read(info))
    assert mar("inspect", str(folder))[0] == 3  # TorchServe cannot load it as it is
    output = repack(folder, "default", tmp_path / "m.mar")
    assert same_output(output, archives["default"])


def test_a_tgz_without_its_top_directory_becomes_an_archive(
    archives: dict[str, Path], tmp_path: Path
) -> None:
    flat = tmp_path / "flat.tar.gz"
    with zipfile.ZipFile(archives["default"]) as source, tarfile.open(flat, "w:gz") as out:
        for info in source.infolist():
            data = source.read(info)
            entry = tarfile.TarInfo(info.filename)
            entry.size = len(data)
            out.addfile(entry, io.BytesIO(data))
    output = repack(flat, "tgz", tmp_path / "m.tar.gz")
    assert same_output(output, archives["tgz"])


def test_an_unsafe_archive_is_refused(tmp_path: Path) -> None:
    evil = write_zip(tmp_path / "evil.mar", {**members(b"w"), "../x.sh": b"boom"})
    target = tmp_path / "out.mar"
    code, out, err = mar("repack", str(evil), "--archive-format", "tgz", "-o", str(target))
    assert (code, out) == (3, "")
    assert err.startswith(
        f"mar: error: {evil}: refusing to repack unsafe members: '../x.sh': '..' path component."
    )
    assert not target.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["evil.mar"]


def test_a_damaged_member_leaves_nothing(archives: dict[str, Path], tmp_path: Path) -> None:
    big = os.urandom(2 << 20)
    source = build(model_dir(tmp_path / "src", big), tmp_path / "d", "zip-store")
    patch(source, data_offset(source, "weights.pt") + 1000, b"\x00\x01\x02")
    for fmt in FORMATS:
        target = tmp_path / "out" / f"m{SUFFIX[fmt]}"
        code, out, err = mar("repack", str(source), "--archive-format", fmt, "-o", str(target))
        assert (code, out) == (3, ""), fmt
        assert "weights.pt" in err and "CRC-32" in err, err
        assert not target.exists()
        assert not target.parent.exists() or list(target.parent.iterdir()) == []


def test_an_existing_output_needs_force(archives: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "m.tar.gz"
    target.write_bytes(b"keep me")
    code, out, err = mar("repack", str(archives["default"]), "--archive-format", "tgz",
                         "-o", str(target))  # fmt: skip
    assert (code, out) == (2, "")
    assert err == (
        f"mar: error: {target} already exists.\n"
        "hint: pass -f/--force to replace it (only on success).\n"
    )
    assert target.read_bytes() == b"keep me"
    repack(archives["default"], "tgz", target, "--force")
    assert same_output(target, archives["tgz"])


def test_not_an_archive_and_no_manifest(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mar"
    junk.write_bytes(os.urandom(100))
    code, _, err = mar("repack", str(junk), "--archive-format", "tgz", "-o", str(tmp_path / "o"))
    assert code == 3 and "not a model archive" in err
    bare = write_zip(tmp_path / "bare.mar", {"handler.py": b"pass\n"})
    code, _, err = mar("repack", str(bare), "--archive-format", "tgz", "-o", str(tmp_path / "o"))
    assert (code, err.splitlines()[0]) == (
        3, f"mar: error: {bare}: MAR-INF/MANIFEST.json is not in the archive; nothing to repack."
    )  # fmt: skip


def test_a_large_compressed_member_is_streamed_into_zip_store(tmp_path: Path) -> None:
    """A DEFLATED member larger than a chunk goes to zip-store as it is inflated (and to the
    other formats through a temporary copy), with the same bytes and CRC."""
    # 3 MiB that deflate shrinks about 1.7:1 (far below the 200:1 decompression limit).
    noise = random.Random(0).randbytes(3 << 20)
    weights = noise.translate(bytes(i & 0x0F for i in range(256)))
    source = build(model_dir(tmp_path / "src", weights), tmp_path / "d", "default")
    with zipfile.ZipFile(source) as archive:
        assert archive.getinfo("weights.pt").compress_type == zipfile.ZIP_DEFLATED
    for fmt in ("zip-store", "default", "tgz"):
        output = repack(source, fmt, tmp_path / fmt / f"m{SUFFIX[fmt]}")
        assert archive_digest(output).value == archive_digest(source).value
    with zipfile.ZipFile(tmp_path / "zip-store" / "m.mar") as archive:
        assert archive.testzip() is None
        assert archive.read("weights.pt") == weights
