"""--output PATH is written completely or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mar_tools.core.errors import UsageError
from mar_tools.core.fs import write_atomically


def test_writes_a_new_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_atomically(target, b'{"a": 1}')
    assert target.read_bytes() == b'{"a": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_replaces_an_existing_file_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_atomically(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"the directory .*missing does not exist"):
        write_atomically(tmp_path / "missing" / "out", b"x")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only directories")
def test_an_unwritable_directory_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"old")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="cannot write"):
            write_atomically(target, b"new")
    finally:
        tmp_path.chmod(0o700)
    assert target.read_bytes() == b"old"


def test_a_directory_as_target_leaves_no_temporary(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(UsageError, match="cannot write"):
        write_atomically(tmp_path / "out", b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
