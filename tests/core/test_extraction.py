"""The extraction cache: content-keyed, verified before it is published, atomic."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from mar_tools.core import staging
from mar_tools.core.errors import ArchiveError, UsageError
from mar_tools.core.extraction import model_directory, prepare_model_dir, sweep_cache
from tests.core.writers import kill, start_half_writer
from tests.run.support import build_archive, extraction_name, manifest, published

FILES = {"handler.py": "def handle(d, c):\n    return d\n", "sub/data.txt": "x"}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("fmt", ["zip", "tgz"])
def test_extracts_into_a_directory_named_by_the_archive_digest(tmp_path: Path, fmt: str) -> None:
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"), fmt)
    cache = tmp_path / "cache"
    first = prepare_model_dir(archive, cache)
    assert first.how == "extracted"
    assert first.model_dir == cache / "v2" / extraction_name(archive)
    # The tgz's first path component ("m/") is stripped, as TorchServe does.
    assert _tree(first.model_dir) == {
        "MAR-INF/MANIFEST.json": manifest("handler.py").encode(),
        "handler.py": FILES["handler.py"].encode(),
        "sub/data.txt": b"x",
    }
    assert sorted(p.name for p in (cache / "v2").iterdir()) == sorted(
        ["index", first.model_dir.name, "use"]  # use locks: tests/core/test_extraction_store.py
    )


def test_second_run_uses_the_cache_without_extracting_again(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"))
    cache = tmp_path / "cache"
    first = prepare_model_dir(archive, cache)
    marker = first.model_dir / "written-by-the-test"
    marker.write_text("still here")  # an extraction would not produce this file
    second = prepare_model_dir(archive, cache)
    assert (second.model_dir, second.how) == (first.model_dir, "cached")
    assert marker.read_text() == "still here"


def test_a_changed_archive_gets_a_new_directory(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"))
    cache = tmp_path / "cache"
    first = prepare_model_dir(archive, cache)
    archive.unlink()
    build_archive(tmp_path / "m", {**FILES, "sub/data.txt": "changed"}, manifest("handler.py"))
    second = prepare_model_dir(archive, cache)
    assert second.how == "extracted" and second.model_dir != first.model_dir
    assert (second.model_dir / "sub/data.txt").read_text() == "changed"


def test_touching_the_archive_rehashes_and_finds_the_same_content(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"))
    cache = tmp_path / "cache"
    first = prepare_model_dir(archive, cache)
    os.utime(archive, (1_000_000_000, 1_000_000_000))
    second = prepare_model_dir(archive, cache)
    assert (second.model_dir, second.how) == (first.model_dir, "cached")
    assert len(list((cache / "v2" / "index").iterdir())) == 2  # one entry per file identity


def test_a_copy_of_the_archive_shares_the_extraction(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"))
    copy = tmp_path / "copy.mar"
    copy.write_bytes(archive.read_bytes())
    cache = tmp_path / "cache"
    assert prepare_model_dir(archive, cache).model_dir == prepare_model_dir(copy, cache).model_dir


def test_directories_are_used_in_place_and_a_lone_subdirectory_is_the_model(tmp_path: Path) -> None:
    model = build_archive(tmp_path / "outer" / "m", FILES, manifest("handler.py"), "dir")
    for path in (model, model.parent):
        found = prepare_model_dir(path, tmp_path / "cache")
        assert (found.model_dir, found.how) == (model, "in-place")
    assert not (tmp_path / "cache").exists()


def test_no_cache_extracts_into_a_fresh_directory_deleted_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"))
    with model_directory(archive, None) as first, model_directory(archive, None) as second:
        assert first.how == second.how == "extracted"
        assert first.model_dir != second.model_dir
        assert first.model_dir.parent == tmp_path
        assert _tree(first.model_dir) == _tree(second.model_dir)
    assert not first.model_dir.exists() and not second.model_dir.exists()


def _zip_with(tmp_path: Path, name: str, *, symlink: bool = False) -> Path:
    path = tmp_path / "bad.mar"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MAR-INF/MANIFEST.json", manifest("handler.py"))
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd" if symlink else "payload")
    return path


@pytest.mark.parametrize(
    ("member", "symlink", "reason"),
    [
        ("../evil.py", False, "'..' path component"),
        ("/abs/evil.py", False, "absolute path"),
        ("a\\..\\evil.py", False, "backslash in name (a path separator on Windows)"),
        ("C:/evil.py", False, "drive letter"),
        ("link.py", True, "is a link"),
    ],
)
def test_unsafe_zip_members_are_refused_and_nothing_is_left(
    tmp_path: Path, member: str, symlink: bool, reason: str
) -> None:
    archive = _zip_with(tmp_path, member, symlink=symlink)
    cache = tmp_path / "cache"
    with pytest.raises(ArchiveError) as caught:
        prepare_model_dir(archive, cache)
    assert caught.value.message.startswith(f"{archive}: refusing to extract it: entry {member!r}")
    assert reason in caught.value.message
    assert [p.name for p in (cache / "v2").iterdir()] == []  # no temporary, no final directory
    assert not (tmp_path / "evil.py").exists()


def test_tar_symlinks_and_traversal_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        data = manifest("h.py").encode()
        info = tarfile.TarInfo("m/MAR-INF/MANIFEST.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("m/h.py")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
        escape = tarfile.TarInfo("m/../../x.py")
        escape.size = 1
        archive.addfile(escape, io.BytesIO(b"x"))
    with pytest.raises(ArchiveError, match=r"entry 'm/h.py' is a link to '/etc/passwd'"):
        prepare_model_dir(path, tmp_path / "cache")


def test_corrupt_and_missing_archives(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", {"big.bin": os.urandom(4096)}, manifest("h.py"))
    data = bytearray(archive.read_bytes())
    offset = data.index(b"big.bin") + 40  # inside the stored member's data
    data[offset] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=r"big.bin CRC-32 is [0-9a-f]{8} but [0-9a-f]{8} is rec"):
        prepare_model_dir(archive, tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache" / "v2").iterdir()] == []
    with pytest.raises(ArchiveError, match=r"nope.mar: no such file or directory\."):
        prepare_model_dir(tmp_path / "nope.mar", tmp_path / "cache")
    (tmp_path / "text.mar").write_text("not an archive")
    with pytest.raises(ArchiveError, match="not a model archive"):
        prepare_model_dir(tmp_path / "text.mar", tmp_path / "cache")


def test_leftovers_of_killed_extractions_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"))
    found = prepare_model_dir(archive, cache)
    root = cache / "v2"
    dead, dead_dir = start_half_writer(root / "extraction", "dir")
    kill(dead)
    alive, alive_dir = start_half_writer(root / "extraction", "dir")
    assert dead_dir is not None and alive_dir is not None
    try:
        # Even a run that finds its extraction cached removes what killed ones left.
        assert prepare_model_dir(archive, cache).how == "cached"
        assert sorted(p.name for p in root.iterdir()) == sorted(
            ["index", "use", found.model_dir.name, alive_dir.name]
        )
        assert not dead_dir.exists()
        assert sweep_cache(cache) == []  # the live one is held
    finally:
        kill(alive)
    assert sweep_cache(cache) == [alive_dir]


def _extract_in_child(archive: str, cache: str) -> str:
    return str(prepare_model_dir(Path(archive), Path(cache)).model_dir)


def test_concurrent_extractions_of_one_archive_agree(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {**FILES, "weights.bin": os.urandom(2 << 20)}
    archive = build_archive(tmp_path / "m", files, manifest("handler.py"))
    cache = tmp_path / "cache"
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        results = pool.starmap(_extract_in_child, [(str(archive), str(cache))] * 4)
    assert len(set(results)) == 1
    assert sorted(p.name for p in (cache / "v2").iterdir()) == sorted(
        ["index", Path(results[0]).name, "use"]
    )
    assert _tree(Path(results[0]))["weights.bin"] == files["weights.bin"]


def test_an_unusable_cache_directory_is_a_usage_error(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache should be")
    with pytest.raises(UsageError) as caught:
        prepare_model_dir(archive, blocker / "cache")
    assert caught.value.message.startswith(f"cannot use the extraction cache {blocker / 'cache'} (")
    assert caught.value.hint == (
        "choose another directory with --cache-dir (or MAR_CACHE_DIR), or use --no-cache."
    )


def test_no_cache_leaves_nothing_behind_when_extraction_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(ArchiveError, match="refusing to extract"):  # noqa: SIM117
        with model_directory(_zip_with(tmp_path, "../evil.py"), None):
            pass
    assert list(scratch.iterdir()) == []


# Cache poisoning (issue 11, item 2). The old cache hashed the archive, then opened it
# again to extract it: a file renamed over the path in between (as `torch-model-archiver
# -f` does) was extracted under the old file's digest, and an untouched copy of the old
# archive then ran the new handler. The hook below makes the rename happen at that moment,
# deterministically: the cache sweeps its leftovers between reading the index and
# extracting, in the old code and the new.


def _replace_during(monkeypatch: pytest.MonkeyPatch, archive: Path, replacement: Path) -> None:
    def sweep_then_replace(*args: object, **kwargs: object) -> object:
        if replacement.exists():
            replacement.replace(archive)  # what `torch-model-archiver -f` does
        return staging.sweep(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("mar_tools.core.extraction.sweep", sweep_then_replace)


def test_an_archive_replaced_during_extraction_cannot_poison_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = build_archive(tmp_path / "old", {"handler.py": "OLD = 1\n"}, manifest("handler.py"))
    new = build_archive(tmp_path / "new", {"handler.py": "NEW = 1\n"}, manifest("handler.py"))
    copy_of_old = tmp_path / "copy-of-old.mar"
    copy_of_old.write_bytes(old.read_bytes())
    old_name, new_name = extraction_name(old), extraction_name(new)
    archive = tmp_path / "model.mar"
    old.replace(archive)
    cache = tmp_path / "cache"
    _replace_during(monkeypatch, archive, new)
    found = prepare_model_dir(archive, cache)
    assert not new.exists() and extraction_name(archive) == new_name  # it was replaced
    # What was extracted is the file that was opened, published under its own digest.
    assert found.model_dir.name == old_name
    assert (found.model_dir / "handler.py").read_text() == "OLD = 1\n"
    monkeypatch.undo()
    for path, text in ((copy_of_old, "OLD = 1\n"), (archive, "NEW = 1\n")):
        model_dir = prepare_model_dir(path, cache).model_dir
        assert (model_dir / "handler.py").read_text() == text, path
    for directory in published(cache / "v2"):
        expected = {old_name: "OLD = 1\n", new_name: "NEW = 1\n"}[directory.name]
        assert (directory / "handler.py").read_text() == expected


def test_an_archive_written_in_place_during_extraction_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, other = tmp_path / "m.mar", tmp_path / "other.mar"
    for path, text in ((archive, "A = 1\n"), (other, "B = 2\n")):
        with zipfile.ZipFile(path, "w") as writer:
            writer.writestr("MAR-INF/MANIFEST.json", manifest("handler.py"))
            writer.writestr("handler.py", text)
    os.utime(archive, (1_000_000_000, 1_000_000_000))  # any write now moves the mtime
    cache = tmp_path / "cache"

    def sweep_then_write(*args: object, **kwargs: object) -> object:
        with open(archive, "r+b") as handle:  # another valid archive, same size, same inode
            handle.write(other.read_bytes())
        return staging.sweep(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("mar_tools.core.extraction.sweep", sweep_then_write)
    with pytest.raises(ArchiveError, match="the archive changed while it was being read"):
        prepare_model_dir(archive, cache)
    assert [p.name for p in (cache / "v2").iterdir()] == []  # nothing published, no index
