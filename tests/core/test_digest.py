"""The content digest: equal for the same model in every format and however it was zipped,
different as soon as a byte, a name or a manifest field (other than createdOn and
archiverVersion) differs; computed exactly as docs/inspect.md says."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from mar_tools.core.archive import open_archive
from mar_tools.core.digest import digest_view, hash_file
from mar_tools.core.errors import ArchiveError
from tests.inspect.models import FORMATS, build, model_dir
from tests.validate.builders import data_offset, patch

WEIGHTS = os.urandom(300_000) + bytes(300_000)  # large enough to be stored in pieces


def digest(path: Path) -> str:
    with open_archive(path) as view:
        return digest_view(view)[0].value


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("digest")
    source = model_dir(root / "src", WEIGHTS)
    return {fmt: build(source, root / fmt, fmt) for fmt in FORMATS}


def test_same_digest_in_every_format(built: dict[str, Path]) -> None:
    assert len({digest(path) for path in built.values()}) == 1


def test_independent_of_order_compression_and_timestamps(
    built: dict[str, Path], tmp_path: Path
) -> None:
    rezipped = tmp_path / "other.mar"
    with zipfile.ZipFile(built["default"]) as source:
        infos = sorted(source.infolist(), key=lambda info: info.filename, reverse=True)
        with zipfile.ZipFile(rezipped, "w") as target:
            for info in infos:
                copy = zipfile.ZipInfo(info.filename, date_time=(2001, 2, 3, 4, 5, 6))
                copy.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(copy, source.read(info), compresslevel=9)
            target.writestr("extra-dir/", b"")  # a directory entry is not content
    assert digest(rezipped) == digest(built["default"])


def rewritten(path: Path, target: Path, **changes: bytes) -> Path:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            out.writestr(info.filename, changes.pop(info.filename, source.read(info)))
        for name, data in changes.items():
            out.writestr(name, data)
    return target


def test_changes_that_change_the_digest(built: dict[str, Path], tmp_path: Path) -> None:
    original = built["default"]
    manifest = json.loads(zipfile.ZipFile(original).read("MAR-INF/MANIFEST.json"))
    volatile = dict(manifest, createdOn="01/01/2000 00:00:00", archiverVersion="9.9")
    versioned = dict(manifest, model={**manifest["model"], "modelVersion": "2.0"})
    flipped = bytearray(WEIGHTS)
    flipped[-1] ^= 1
    cases = {
        "byte": {"weights.pt": bytes(flipped)},
        "added": {"notes.txt": b"x"},
        "version": {"MAR-INF/MANIFEST.json": json.dumps(versioned).encode()},
    }
    base = digest(original)
    for label, change in cases.items():
        assert digest(rewritten(original, tmp_path / f"{label}.mar", **change)) != base, label
    same = rewritten(
        original, tmp_path / "v.mar", **{"MAR-INF/MANIFEST.json": json.dumps(volatile).encode()}
    )
    assert digest(same) == base


def test_the_documented_formula(tmp_path: Path) -> None:
    root = tmp_path / "m"
    (root / "MAR-INF").mkdir(parents=True)
    manifest = {"createdOn": "x", "runtime": "python", "model": {"handler": "h.py"}}
    (root / "MAR-INF" / "MANIFEST.json").write_text(json.dumps(manifest))
    (root / "h.py").write_bytes(b"pass\n")
    (root / "sub").mkdir()
    (root / "sub" / "é.txt").write_bytes(b"")
    (root / "link").symlink_to("h.py")
    document = {
        "files": [
            ["h.py", 5, hashlib.sha256(b"pass\n").hexdigest()],
            ["sub/é.txt", 0, hashlib.sha256(b"").hexdigest()],
        ],
        "links": [["link", "h.py"]],
        "manifest": {"runtime": "python", "model": {"handler": "h.py"}},
        "version": 1,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest(root) == "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_archive_hash_alongside_and_damage_detected(built: dict[str, Path], tmp_path: Path) -> None:
    path = built["zip-store"]
    with open_archive(path) as view:
        _, extra = digest_view(view, also=[lambda: hash_file(path)])
    assert extra == [hashlib.sha256(path.read_bytes()).hexdigest()]
    damaged = tmp_path / "damaged.mar"
    damaged.write_bytes(path.read_bytes())
    patch(damaged, data_offset(damaged, "weights.pt") + 10, b"\xff\xfe")
    with pytest.raises(ArchiveError, match=r"weights\.pt CRC-32 is"):
        digest(damaged)
