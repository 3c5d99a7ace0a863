"""``mar extract``: every format on disk as TorchServe lays it out; the checks of mar run's
extraction (the same messages); a complete directory or nothing; never over an existing
one without --force."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from mar_tools.core.errors import ArchiveError
from mar_tools.core.extraction import prepare_model_dir
from tests.inspect.commands import mar
from tests.inspect.models import FORMATS
from tests.validate.builders import data_offset, members, patch, set_flags, write_zip


def files_of(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format(archives: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "out" / "model"
    assert mar("extract", str(archives[fmt]), str(target)) == (0, "", "")
    assert files_of(target) == files_of(archives["no-archive"])
    assert sorted(p.name for p in target.parent.iterdir()) == ["model"]  # no leftovers


def test_default_directory_is_named_after_the_archive(
    archives: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert mar("extract", str(archives["tgz"]))[0] == 0
    assert files_of(tmp_path / "m") == files_of(archives["no-archive"])


def tgz_with(path: Path, build: str) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        data = b"{}"
        info = tarfile.TarInfo("m/MAR-INF/MANIFEST.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        special = tarfile.TarInfo(f"m/{build}")
        if build == "link":
            special.type, special.linkname = tarfile.SYMTYPE, "/etc/passwd"
        else:
            special.type = tarfile.CHRTYPE
        archive.addfile(special)
    return path


def unsafe_archives(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    encrypted = write_zip(tmp_path / "enc.mar", members(b"w"))
    set_flags(encrypted, "weights.pt", 0x1)
    return {
        "slip": (write_zip(tmp_path / "slip.mar", {**members(b"w"), "../evil": b"x"}),
                 "entry '../evil': '..' path component"),
        "absolute": (write_zip(tmp_path / "abs.mar", {**members(b"w"), "/tmp/evil": b"x"}),
                     "entry '/tmp/evil': absolute path"),
        "link": (tgz_with(tmp_path / "link.tar.gz", "link"),
                 "entry 'm/link' is a link to '/etc/passwd'"),
        "device": (tgz_with(tmp_path / "dev.tar.gz", "dev"),
                   "entry 'm/dev' is not a regular file"),
        "encrypted": (encrypted, "weights.pt is encrypted"),
    }  # fmt: skip


@pytest.mark.parametrize("case", ["slip", "absolute", "link", "device", "encrypted"])
def test_unsafe_archives_write_nothing(tmp_path: Path, case: str) -> None:
    archive, reason = unsafe_archives(tmp_path)[case]
    target = tmp_path / "out" / "model"
    code, out, err = mar("extract", str(archive), str(target))
    assert (code, out) == (3, "")
    # The core's structural checks refuse it, in mar run's words.
    assert err.startswith(f"mar: error: {archive}: refusing to extract it: {reason}.\nhint: ")
    assert not target.exists() and list(target.parent.iterdir()) == []
    assert not (tmp_path / "evil").exists()
    with pytest.raises(ArchiveError) as run_error:  # mar run's cache says the same
        prepare_model_dir(archive, tmp_path / "cache")
    assert err.startswith(f"mar: error: {run_error.value.message}\n")


def test_a_damaged_archive_leaves_nothing(archives: dict[str, Path], tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.mar"
    damaged.write_bytes(archives["zip-store"].read_bytes())
    patch(damaged, data_offset(damaged, "weights.pt") + 100, b"\xde\xad")
    target = tmp_path / "out" / "model"
    code, _, err = mar("extract", str(damaged), str(target))
    assert code == 3 and "weights.pt" in err
    assert list(target.parent.iterdir()) == []


def test_an_existing_directory_needs_force(archives: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    assert mar("extract", str(archives["default"]), str(target)) == (
        2, "", f"mar: error: {target} already exists.\nhint: pass -f/--force to replace it.\n"
    )  # fmt: skip
    assert files_of(target) == {"mine.txt": b"keep"}
    assert mar("extract", "--force", str(archives["default"]), str(target))[0] == 0
    assert files_of(target) == files_of(archives["no-archive"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_not_an_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mar"
    junk.write_bytes(os.urandom(64))
    code, _, err = mar("extract", str(junk), str(tmp_path / "out"))
    assert code == 3 and "not a model archive" in err
    assert not (tmp_path / "out").exists()
