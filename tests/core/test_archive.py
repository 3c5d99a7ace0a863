"""The read-only archive views over real zip, tar.gz and directory files."""

from __future__ import annotations

import io
import random
import stat
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest

from mar_tools.core.archive import (
    ContainerFormat,
    DirectoryView,
    RangeFile,
    TailFile,
    TarView,
    ZipView,
    detect_format,
    open_archive,
    read_local_header,
    strip_first_component,
    unsafe_name_reason,
)
from mar_tools.core.errors import ArchiveError
from mar_tools.core.limits import LimitExceeded, Limits


def make_zip(path: Path, method: int = zipfile.ZIP_DEFLATED) -> Path:
    link = zipfile.ZipInfo("link")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "w", method) as archive:
            archive.writestr("sub/", b"")
            archive.writestr("a.txt", b"first")
            archive.writestr("big.bin", bytes(range(256)) * 100)
            archive.writestr(link, b"/etc/passwd")
            archive.writestr("a.txt", b"second")
    return path


def make_tgz(path: Path, big: int = 0) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in (("m/a.txt", b"alpha"), ("m/MAR-INF/MANIFEST.json", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if big:
            info = tarfile.TarInfo("m/big.bin")
            info.size = big
            archive.addfile(info, io.BytesIO(random.Random(big).randbytes(big)))
        link = tarfile.TarInfo("m/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../etc/passwd"
        archive.addfile(link)
    return path


def test_zip_members_kinds_and_last_duplicate(tmp_path: Path) -> None:
    with open_archive(make_zip(tmp_path / "x.mar")) as view:
        assert isinstance(view, ZipView) and view.format is ContainerFormat.ZIP
        assert [(m.name, m.kind) for m in view.members] == [
            ("sub/", "dir"),
            ("a.txt", "file"),
            ("big.bin", "file"),
            ("link", "symlink"),
            ("a.txt", "file"),
        ]
        found = view.find("a.txt")
        assert found is not None and found.index == 4 and view.read(found) == b"second"
        assert view.read(found, limit=3) == b"sec"
        assert view.open_range(found) is None  # deflated: no cheap random access


def test_stored_zip_entries_have_a_seekable_window(tmp_path: Path) -> None:
    with open_archive(make_zip(tmp_path / "x.mar", zipfile.ZIP_STORED)) as view:
        member = view.find("big.bin")
        assert member is not None
        window = view.open_range(member)
        assert window is not None
        with window:
            window.seek(256 * 99)
            assert window.read() == bytes(range(256))
            window.seek(-3, io.SEEK_END)
            assert window.read(10) == bytes([253, 254, 255])


def test_local_headers_and_deferred_sizes(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "x.mar")
    with open(path, "rb") as handle:
        header = read_local_header(handle, 0)
        assert header is not None and header.name_bytes == b"sub/"
        assert header.crc == 0 and header.compressed_size is not None
        assert read_local_header(handle, 1) is None
        assert read_local_header(handle, -5) is None
        assert read_local_header(handle, 1 << 40) is None


def test_range_file_reads_only_its_window(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"0123456789")
    with io.BufferedReader(RangeFile(path, 2, 5)) as window:
        assert window.read() == b"23456"
        window.seek(1)
        assert window.read(2) == b"34"
        assert window.seek(0, io.SEEK_END) == 5 and window.read() == b""


def test_tail_file_is_zeros_then_its_tail() -> None:
    with io.BufferedReader(TailFile(b"tail", 10), buffer_size=3) as tail:
        assert tail.read() == b"\0" * 6 + b"tail"
        tail.seek(4)
        assert tail.read(4) == b"\0\0ta"
        tail.seek(-3, io.SEEK_END)
        assert tail.read() == b"ail"
        assert tail.seek(20) == 20 and tail.read() == b""


def test_a_zip_index_is_read_from_the_tail_alone(tmp_path: Path) -> None:
    data = make_zip(tmp_path / "x.mar").read_bytes()
    index = data[data.index(b"PK\x01\x02") :]  # central directory and end record
    with zipfile.ZipFile(TailFile(index, len(data))) as archive:
        assert archive.namelist() == zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_tgz_names_lose_their_first_component(tmp_path: Path) -> None:
    with open_archive(make_tgz(tmp_path / "x.tar.gz")) as view:
        assert isinstance(view, TarView)
        assert [(m.name, m.raw_name, m.kind) for m in view.members] == [
            ("a.txt", "m/a.txt", "file"),
            ("MAR-INF/MANIFEST.json", "m/MAR-INF/MANIFEST.json", "file"),
            ("link", "m/link", "symlink"),
        ]
        assert view.members[2].link_target == "../../etc/passwd"
        member = view.find("a.txt")
        assert member is not None and view.read(member) == b"alpha"
        assert view.open_range(member) is not None  # small: kept from the listing pass


def test_tgz_large_members_are_read_through_a_second_handle(tmp_path: Path) -> None:
    size = 3 << 20
    with open_archive(make_tgz(tmp_path / "x.tar.gz", big=size)) as view:
        member = view.find("big.bin")
        assert member is not None and view.open_range(member) is None
        assert view.read(member) == random.Random(size).randbytes(size)


def test_damaged_tgz_fails_to_open(tmp_path: Path) -> None:
    good = make_tgz(tmp_path / "x.tar.gz").read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good[:-20])
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(good[:-8] + bytes(b ^ 0xFF for b in good[-8:-4]) + good[-4:])
    for path in (truncated, corrupt):
        with pytest.raises(ArchiveError, match=r"not a readable tar\.gz archive"):
            open_archive(path)


def test_tgz_size_limit(tmp_path: Path) -> None:
    path = make_tgz(tmp_path / "x.tar.gz", big=1 << 20)
    with pytest.raises(LimitExceeded, match=r"expand to .* or more; the limit is 1000 B"):
        open_archive(path, limits=Limits(max_total_size=1000))
    open_archive(path, limits=Limits(max_total_size=10 << 20)).close()


def test_directory_view_lone_subdirectory_and_symlinks(tmp_path: Path) -> None:
    model = tmp_path / "export" / "m1"
    (model / "MAR-INF").mkdir(parents=True)
    (model / "MAR-INF" / "MANIFEST.json").write_text("{}")
    (model / "h.py").write_text("x = 1\n")
    (model / "out").symlink_to(tmp_path, target_is_directory=True)
    with open_archive(tmp_path / "export") as view:
        assert isinstance(view, DirectoryView) and view.root == model
        assert [(m.name, m.kind) for m in view.members] == [
            ("h.py", "file"),
            ("out", "symlink"),
            ("MAR-INF/MANIFEST.json", "file"),
        ]
        ghost = view.members[0]
        (model / "h.py").unlink()
        with pytest.raises(ArchiveError, match="cannot read"):
            view.read(ghost)


def test_detect_format(tmp_path: Path) -> None:
    zipped = make_zip(tmp_path / "x.mar")
    prefixed = tmp_path / "prefixed.mar"
    prefixed.write_bytes(b"#!stub\n" + zipped.read_bytes())
    assert detect_format(prefixed) is ContainerFormat.ZIP
    assert detect_format(make_tgz(tmp_path / "x.tgz")) is ContainerFormat.TGZ
    assert detect_format(tmp_path) is ContainerFormat.DIRECTORY
    (tmp_path / "plain").write_bytes(b"hello")
    with pytest.raises(ArchiveError, match="not a model archive"):
        detect_format(tmp_path / "plain")
    with pytest.raises(ArchiveError, match="no such file"):
        detect_format(tmp_path / "missing")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a/b.txt", None),
        ("", "empty name"),
        ("a\x00b", "NUL byte in name"),
        ("a\\b", "backslash in name (a path separator on Windows)"),
        ("/etc/x", "absolute path"),
        ("C:x", "drive letter"),
        ("a/../../b", "'..' path component"),
    ],
)
def test_unsafe_name_reason(name: str, reason: str | None) -> None:
    assert unsafe_name_reason(name) == reason


def test_strip_first_component() -> None:
    assert strip_first_component("m/a/b") == "a/b"
    assert strip_first_component("top") == "top"


def test_tgz_top_directory_entry_is_the_model_directory(tmp_path: Path) -> None:
    path = tmp_path / "x.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name in ("m", "m/sub"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
    with open_archive(path) as view:
        assert [(m.name, m.raw_name, m.kind) for m in view.members] == [
            ("", "m", "dir"),
            ("sub", "m/sub", "dir"),
        ]


def test_an_uncompressed_tar_holding_a_zip_is_not_taken_for_a_zip(tmp_path: Path) -> None:
    # A torch.save file is a zip: at the end of a plain tar, zipfile finds its directory.
    inner = make_zip(tmp_path / "weights.pt")
    path = tmp_path / "model.tar"
    with tarfile.open(path, "w") as archive:
        archive.add(inner, "m/weights.pt")
    assert zipfile.is_zipfile(path)
    with pytest.raises(ArchiveError, match="uncompressed tar"):
        detect_format(path)


def test_unsafe_name_reason_is_the_first_of_all_name_problems() -> None:
    from mar_tools.core.archive import name_problems

    assert name_problems("a/b") == []
    assert [kind for kind, _ in name_problems("\\..\\x")] == ["backslash", "absolute", "traversal"]
    assert unsafe_name_reason("\\..\\x") == name_problems("\\..\\x")[0][1]
    assert name_problems("é:x") == []  # drive letters are ASCII
