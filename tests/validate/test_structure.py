"""Container structure and entry bytes: what the full check reads and what --quick skips."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import IO

import pytest

from tests.validate.builders import (
    Unseekable,
    central_record_offset,
    check,
    codes,
    data_offset,
    local_header_offset,
    members,
    patch,
    write_tgz,
    write_zip,
)


def test_quick_mode_skips_the_crc_check_and_says_so(tmp_path: Path, weights: bytes) -> None:
    path = write_zip(tmp_path / "m.mar", members(weights), zipfile.ZIP_STORED)
    patch(path, data_offset(path, "model.py") + 3, b"X")
    full = check(path)
    assert [(f.code, f.location.member) for f in full.findings] == [
        ("entry.crc-mismatch", "model.py")
    ]
    quick = check(path, quick=True)
    assert "entry.crc-mismatch" in quick.skipped
    assert "entry.crc-mismatch" not in codes(quick)


def test_declared_size_that_lies_is_caught(tmp_path: Path, weights: bytes) -> None:
    path = write_zip(tmp_path / "m.mar", members(weights))
    for offset in (
        local_header_offset(path, "model.py") + 22,
        central_record_offset(path, "model.py") + 24,
    ):
        patch(path, offset, struct.pack("<I", 10))  # uncompressed size: 10 bytes
    result = check(path)
    corrupt = [f for f in result.findings if f.code == "entry.corrupt"]
    assert [f.message for f in corrupt] == [
        "model.py decompresses to more than the 10 bytes declared."
    ]


def test_truncated_entry_data_is_corrupt(tmp_path: Path, weights: bytes) -> None:
    path = write_zip(tmp_path / "m.mar", members(weights), zipfile.ZIP_STORED)
    for offset in (
        local_header_offset(path, "weights.pt") + 18,
        central_record_offset(path, "weights.pt") + 20,
    ):
        patch(path, offset, struct.pack("<I", 1 << 30))  # compressed size past the end
    assert "entry.corrupt" in codes(check(path))


def test_deflated_entries_with_data_descriptors_are_fine(tmp_path: Path, weights: bytes) -> None:
    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members(weights).items():
            with archive.open(name, "w") as entry:
                entry.write(data)
    path = tmp_path / "m.mar"
    path.write_bytes(bytes(sink.data))
    assert check(path).findings == ()


def test_zip64_entries_are_fine(tmp_path: Path, weights: bytes) -> None:
    path = tmp_path / "m.mar"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members(weights).items():
            with archive.open(name, "w", force_zip64=True) as entry:
                entry.write(data)
    assert check(path).findings == ()


def test_corrupt_gzip_stream_makes_tgz_unreadable(tmp_path: Path, weights: bytes) -> None:
    path = write_tgz(tmp_path / "m.tar.gz", members(weights))
    raw = bytearray(path.read_bytes())
    raw[-8] ^= 0xFF  # the gzip trailer's CRC-32
    path.write_bytes(bytes(raw))
    result = check(path)
    assert [f.code for f in result.findings] == ["archive.unreadable"]
    assert "CRC check failed" in result.findings[0].message
    assert "manifest.missing" in result.skipped


def test_tgz_expanding_past_the_limit_stops_early(tmp_path: Path, weights: bytes) -> None:
    from mar_tools.validate import Limits

    files = {**members(weights), "zeros.bin": bytes(8 << 20)}
    path = write_tgz(tmp_path / "bomb.tar.gz", files)
    result = check(path, limits=Limits(max_total_size=1 << 20))
    assert [f.code for f in result.findings] == ["limits.total-size"]


def test_non_archives_are_unreadable(tmp_path: Path) -> None:
    text = tmp_path / "notes.mar"
    text.write_text("just text\n")
    empty = tmp_path / "empty.tar.gz"
    empty.write_bytes(b"")
    for path in (text, empty):
        result = check(path)
        assert result.format is None
        assert [f.code for f in result.findings] == ["archive.unreadable"]
        assert "not a model archive" in result.findings[0].message


def test_tgz_named_mar_would_be_unzipped(tmp_path: Path, weights: bytes) -> None:
    path = write_tgz(tmp_path / "m.mar", members(weights))
    assert [f.code for f in check(path).findings] == ["archive.wrong-extension"]


def test_directory_of_the_model_or_its_parent(tmp_path: Path, weights: bytes) -> None:
    from tests.validate.builders import write_dir

    model = write_dir(tmp_path / "export" / "m1", members(weights))
    assert check(model).findings == ()
    parent = check(tmp_path / "export")  # TorchServe's rule: a lone subdirectory is the model
    assert parent.findings == ()
    assert parent.root == str(model)


def test_directory_symlinks_are_refused(tmp_path: Path, weights: bytes) -> None:
    from tests.validate.builders import write_dir

    model = write_dir(tmp_path / "m1", members(weights))
    (model / "passwd").symlink_to("/etc/passwd")
    (model / "up").symlink_to("..", target_is_directory=True)
    result = check(model)
    assert [(f.code, f.location.member) for f in result.findings] == [
        ("path.symlink", "passwd"),
        ("path.symlink", "up"),
    ]
    assert result.findings[0].message == "entry 'passwd' is a link to '/etc/passwd'."


def test_tar_traversal_in_any_form(tmp_path: Path, weights: bytes) -> None:
    files = {**members(weights), "../../evil": b"x", "a/../../evil2": b"y"}
    result = check(write_tgz(tmp_path / "m.tar.gz", files))
    assert [(f.code, f.location.member) for f in result.findings] == [
        ("path.traversal", "m1/../../evil"),
        ("path.traversal", "m1/a/../../evil2"),
    ]


def test_tgz_made_with_tar_and_directory_entries_is_fine(tmp_path: Path, weights: bytes) -> None:
    import subprocess

    from tests.validate.builders import write_dir

    write_dir(tmp_path / "src" / "m1", members(weights))
    path = tmp_path / "m1.tar.gz"
    subprocess.run(["tar", "czf", str(path), "-C", str(tmp_path / "src"), "m1"], check=True)
    assert check(path).findings == ()


def test_file_named_by_the_manifest_but_linked_is_one_finding(
    tmp_path: Path, weights: bytes
) -> None:
    from tests.validate.builders import write_dir

    model = write_dir(tmp_path / "m1", members(weights, weights_pt=None))
    (tmp_path / "weights.pt").write_bytes(weights)
    (model / "weights.pt").symlink_to(tmp_path / "weights.pt")
    result = check(model)
    assert [(f.code, f.location.member) for f in result.findings] == [
        ("path.symlink", "weights.pt")
    ]


def test_unreadable_file_of_a_directory_is_reported_not_skipped(
    tmp_path: Path, weights: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mar_tools.core.archive import DirectoryView, Member
    from mar_tools.core.errors import ArchiveError
    from tests.validate.builders import write_dir

    model = write_dir(tmp_path / "m1", members(weights))
    opened = DirectoryView.open

    def refuse_config(view: DirectoryView, member: Member) -> IO[bytes]:
        if member.name == "model-config.yaml":  # as if its permissions forbade reading it
            raise ArchiveError(f"{model}/model-config.yaml: cannot read (Permission denied).")
        return opened(view, member)

    monkeypatch.setattr(DirectoryView, "open", refuse_config)
    result = check(model)
    assert [(f.code, f.location.member) for f in result.findings] == [
        ("entry.corrupt", "model-config.yaml")
    ]
    assert "entry.corrupt" not in result.skipped


def test_what_extraction_refuses_is_what_validate_calls_an_error() -> None:
    """The core marks each structural problem fatal or not (extraction refuses the fatal
    ones); the catalog gives the same codes their severity in `mar validate`."""
    from mar_tools.core.archive.structure import STRUCTURAL_CODES
    from mar_tools.report.finding import Severity
    from mar_tools.validate import CATALOG

    severity = {info.code: info.severity for info in CATALOG}
    assert set(STRUCTURAL_CODES) <= set(severity)
    for code, fatal in STRUCTURAL_CODES.items():
        assert (severity[code] is Severity.ERROR) == fatal, code
