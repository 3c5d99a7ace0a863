"""One way to write: a whole file (``write_atomically``) or a staged file or directory
(``Staged``), published by one rename, with the leftovers of dead writers swept by lock."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mar_tools.core import placement, staging
from mar_tools.core.fs import write_atomically
from mar_tools.core.staging import MAR_TEMPS, Staged, TempNames, rename_into_place, sweep
from tests.core.writers import kill, start_half_writer

#: A child that writes *target* again and again, each time 1 MiB of its own byte.
REWRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mar_tools.core.fs import write_atomically

    target, mark, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    for _ in range(count):
        write_atomically(target, bytes([mark]) * (1 << 20), durable=False)
    """
)


def names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


@pytest.fixture
def named_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stage files as systems without ``O_TMPFILE`` do: under locked temporary names."""
    monkeypatch.setattr(staging, "create_unnamed", lambda _directory: None)


UNNAMED = placement.create_unnamed(Path("/tmp")) is not None
needs_unnamed = pytest.mark.skipif(not UNNAMED, reason="no O_TMPFILE here")


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


# --- write_atomically ------------------------------------------------------------------


def test_a_new_file_gets_the_umask_mode_and_leaves_nothing_else(
    tmp_path: Path, umask_027: None
) -> None:
    target = tmp_path / "out.json"
    write_atomically(target, b'{"a": 1}')
    assert target.read_bytes() == b'{"a": 1}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert names(tmp_path) == ["out.json"]


def test_an_existing_file_is_replaced_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    target.chmod(0o604)
    old_inode = target.stat().st_ino
    write_atomically(target, b"new content", durable=False)
    assert target.read_bytes() == b"new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert target.stat().st_ino != old_inode  # a new file renamed over, not rewritten
    assert names(tmp_path) == ["out.bin"]


def test_a_missing_directory_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "missing" / "out", b"x")
    assert names(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only directories")
def test_an_unwritable_directory_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"old")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            write_atomically(target, b"new")
    finally:
        tmp_path.chmod(0o700)
    assert target.read_bytes() == b"old"


def test_a_directory_as_target_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("mine")
    with pytest.raises(IsADirectoryError):
        write_atomically(tmp_path / "out", b"x")
    assert names(tmp_path) == ["out"] and (tmp_path / "out" / "keep").read_text() == "mine"


def test_a_symlink_stays_a_link_to_the_new_content(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "report.json"
    real.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    write_atomically(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert names(tmp_path / "real") == ["report.json"]


def test_a_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomically(fifo, b"through the pipe")
    reader.join(10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and names(tmp_path) == ["pipe"]


def test_dev_stdout_is_written_in_place_even_when_it_leads_to_a_file(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("earlier lines\n")
    script = "from pathlib import Path; from mar_tools.core.fs import write_atomically; "
    script += "write_atomically(Path('/dev/stdout'), b'the report\\n')"
    with log.open("a") as stdout:  # as a shell's `>> log.txt`
        subprocess.run([sys.executable, "-c", script], stdout=stdout, check=True)
    assert log.read_text() == "earlier lines\nthe report\n"
    assert Path("/dev/stdout").is_symlink() or not Path("/dev/stdout").is_file()
    assert names(tmp_path) == ["log.txt"]


@pytest.mark.slow
def test_concurrent_writers_are_never_seen_half_way(tmp_path: Path) -> None:
    """Four processes rewrite one 1 MiB file 60 times each, while it is read in a loop:
    every read sees one writer's complete content."""
    target = tmp_path / "shared.bin"
    write_atomically(target, bytes([9]) * (1 << 20))
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    writers = [
        subprocess.Popen([sys.executable, "-c", REWRITER, str(target), str(mark), "60"], env=env)
        for mark in range(4)
    ]
    seen: set[int] = set()
    reads = 0
    while any(writer.poll() is None for writer in writers) or reads == 0:
        data = target.read_bytes()
        assert len(data) == 1 << 20
        assert data.count(data[:1]) == len(data), "a read saw two writers' bytes mixed"
        seen.add(data[0])
        reads += 1
    assert [writer.wait() for writer in writers] == [0, 0, 0, 0]
    assert reads > 10 and len(seen) > 1
    assert names(tmp_path) == ["shared.bin"]


@pytest.mark.parametrize("kind", ["named-file", "dir"])
def test_a_killed_writer_leaves_the_target_and_a_leftover_the_next_write_sweeps(
    tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    child, partial = start_half_writer(target, kind)
    try:
        assert partial is not None and partial.parent == tmp_path and partial.exists()
        # A write while the child lives replaces the target but leaves its temporary alone.
        write_atomically(target, b"meanwhile")
        assert partial.exists()
    finally:
        kill(child)
    assert target.read_text() == "meanwhile"
    assert names(tmp_path) == sorted(["out.json", partial.name])
    write_atomically(target, b"new")
    assert target.read_text() == "new"
    assert names(tmp_path) == ["out.json"]


@needs_unnamed
def test_a_killed_writer_of_an_unnamed_file_leaves_nothing_at_all(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    child, partial = start_half_writer(target, "file")
    try:
        assert partial is None
        assert names(tmp_path) == ["out.json"]  # being written, yet nowhere to be seen
    finally:
        kill(child)
    assert names(tmp_path) == ["out.json"] and target.read_text() == "old"


def test_a_killed_writer_of_another_target_is_swept_too(tmp_path: Path) -> None:
    """Every write sweeps the dead writers' leftovers of its whole directory (the archiver's
    `.NAME.mar.tma-*.partial` of another model used to stay until that model was built)."""
    child, partial = start_half_writer(tmp_path / "a.json", "dir")
    kill(child)
    assert partial is not None and partial.exists()
    write_atomically(tmp_path / "b.json", b"b")
    assert names(tmp_path) == ["b.json"]


@needs_unnamed
def test_an_unnamed_file_is_linked_into_place(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with Staged(target, is_dir=False) as staged:
        assert staged.unnamed
        with pytest.raises(ValueError, match="has no name until published"):
            _ = staged.path
        with staged.open() as handle:
            handle.write(b"first")
        assert names(tmp_path) == []
        staged.publish(replace=False)
    assert target.read_bytes() == b"first"
    with Staged(target, is_dir=False) as staged:
        with staged.open() as handle:
            handle.write(b"second")
        with pytest.raises(FileExistsError):
            staged.publish(replace=False)
        staged.publish(replace=True)
    assert target.read_bytes() == b"second" and names(tmp_path) == ["out.bin"]
    with Staged(target, is_dir=False) as staged, staged.open() as handle:
        handle.write(b"never published")
    assert target.read_bytes() == b"second" and names(tmp_path) == ["out.bin"]


@pytest.mark.usefixtures("named_files")
def test_temporary_names_are_unique_and_never_fixed(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with Staged(target, is_dir=False) as first, Staged(target, is_dir=False) as second:
        assert first.path != second.path
        for staged in (first, second):
            assert staged.path.parent == tmp_path
            assert staged.path.name.startswith(".out.json.mar-")
            assert staged.path.name.endswith(".partial")
        # Each is locked: a third writer of the same target sweeps neither.
        assert sweep(tmp_path, MAR_TEMPS, target=target) == []
        with first.open() as handle:
            handle.write(b"first")
        first.publish(replace=True)
        with second.open() as handle:
            handle.write(b"second")
        second.publish(replace=True)
    assert target.read_bytes() == b"second"
    assert names(tmp_path) == ["out.json"]


def test_long_and_multibyte_names_keep_temporaries_within_255_bytes(tmp_path: Path) -> None:
    target = tmp_path / ("é" * 120)  # 240 bytes
    write_atomically(target, b"x")
    fresh = MAR_TEMPS.fresh(target).name
    assert len(os.fsencode(fresh)) <= 255 and MAR_TEMPS.matches(fresh)
    assert target.read_bytes() == b"x"


# --- Staged and rename_into_place ------------------------------------------------------


def test_a_staged_directory_replaces_the_old_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "model"
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "stale.txt").write_text("old")
    with Staged(target, is_dir=True) as staged:
        (staged.path / "fresh.txt").write_text("new")
        staged.publish(replace=True)
    assert names(target) == ["fresh.txt"]
    assert names(tmp_path) == ["model"]


def test_a_failed_write_removes_its_temporary_and_keeps_the_target(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    with pytest.raises(KeyboardInterrupt), Staged(target, is_dir=True) as staged:
        (staged.path / "half").write_text("half")
        raise KeyboardInterrupt
    assert names(tmp_path) == ["model"] and names(target) == []


def test_without_replace_an_existing_target_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with Staged(target, is_dir=False) as staged:
        target.write_text("appeared meanwhile")
        with pytest.raises(FileExistsError):
            staged.publish(replace=False)
    assert target.read_text() == "appeared meanwhile"
    assert names(tmp_path) == ["out"]


def test_a_file_never_replaces_a_directory(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    source = tmp_path / "source"
    source.write_text("x")
    with pytest.raises(IsADirectoryError):
        rename_into_place(source, tmp_path / "target", replace=True, aside=tmp_path / "aside")
    assert (tmp_path / "target").is_dir() and source.exists()


@pytest.mark.parametrize("kernel", ["renameat2", "plain rename"])
def test_publishing_with_and_without_the_kernels_renameat2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: str
) -> None:
    if kernel == "plain rename":
        monkeypatch.setattr(placement, "_renameat2", lambda: None)
    new, old, target = tmp_path / "new", tmp_path / "old", tmp_path / "target"
    new.mkdir()
    (new / "n").write_text("new")
    target.mkdir()
    (target / "o").write_text("old")
    with pytest.raises(FileExistsError):
        rename_into_place(new, target, replace=False, aside=old)
    displaced = rename_into_place(new, target, replace=True, aside=old)
    assert displaced == new
    assert names(target) == ["n"] and names(new) == ["o"] and not old.exists()
    fresh = tmp_path / "fresh"
    assert rename_into_place(new, fresh, replace=False, aside=old) is None
    assert names(fresh) == ["o"] and not new.exists()


# --- sweep ------------------------------------------------------------------------------


def test_sweep_removes_only_unlocked_temporaries_of_its_own_tag(tmp_path: Path) -> None:
    target = tmp_path / "m.out"
    dead_file = tmp_path / ".m.out.mar-0000dead.partial"
    dead_file.write_text("half")
    dead_dir = tmp_path / ".m.out.mar-0000d1r0.partial"
    dead_dir.mkdir()
    (dead_dir / "inside").write_text("half")
    alive = tmp_path / ".m.out.mar-0000a11e.partial"
    alive.write_text("being written")
    other_target = tmp_path / ".n.out.mar-0000dead.partial"
    other_target.write_text("another target's")
    other_tool = tmp_path / ".m.out.tma-0000dead.partial"
    other_tool.write_text("the archiver's")
    plain = tmp_path / ".m.out.partial"
    plain.write_text("an ordinary dot-file")
    holder = os.open(alive, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        removed = sweep(tmp_path, MAR_TEMPS, target=target)
        assert sorted(path.name for path in removed) == sorted([dead_file.name, dead_dir.name])
        removed = sweep(tmp_path, MAR_TEMPS)  # every target's
        assert [path.name for path in removed] == [other_target.name]
    finally:
        os.close(holder)
    assert names(tmp_path) == sorted([alive.name, other_tool.name, plain.name])
    assert sweep(tmp_path, TempNames("tma")) == [other_tool]
    assert sweep(tmp_path / "missing", MAR_TEMPS) == []


@pytest.mark.usefixtures("named_files")
def test_a_temporary_swept_between_creation_and_locking_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window a sweep could hit: Staged checks it still holds the file it created."""
    target = tmp_path / "out"
    created: list[Path] = []
    real_create = staging._create

    def create_then_lose_it(path: Path, is_dir: bool) -> int | None:
        fd = real_create(path, is_dir)
        created.append(path)
        if len(created) == 1:
            path.unlink()  # what a concurrent sweep does to a temporary not locked yet
        return fd

    monkeypatch.setattr(staging, "_create", create_then_lose_it)
    with Staged(target, is_dir=False) as staged:
        assert staged.path == created[1] and staged.path.exists()
        staged.publish(replace=True)
    assert names(tmp_path) == ["out"]


@pytest.mark.usefixtures("named_files")
def test_a_directory_swept_before_it_is_opened_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window between a staged directory's mkdir and its opening: another writer's
    sweep can remove it there (it is not locked yet); seen as four concurrent extractions
    of one archive failing with "No such file or directory"."""
    target = tmp_path / "out"
    made: list[Path] = []
    real_mkdir = Path.mkdir

    def mkdir_then_lose_it(path: Path, mode: int = 0o777, *args: Any, **kwargs: Any) -> None:
        real_mkdir(path, mode, *args, **kwargs)
        if path.name.endswith(".partial"):
            made.append(path)
            if len(made) == 1:
                path.rmdir()  # what a concurrent sweep does to a directory not locked yet

    monkeypatch.setattr(Path, "mkdir", mkdir_then_lose_it)
    with Staged(target, is_dir=True) as staged:
        assert staged.path == made[1] and staged.path.is_dir()
        (staged.path / "f").write_bytes(b"x")
        staged.publish(replace=False)
    assert (target / "f").read_bytes() == b"x" and len(made) == 2


@pytest.mark.usefixtures("named_files")
def test_the_lock_is_released_when_the_writer_finishes(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with Staged(target, is_dir=False) as staged:
        kept = staged.path.with_name(staged.path.name.replace("mar-", "mar-kept"))
        os.link(staged.path, kept)  # a second name for the temporary, to look at it later
        assert sweep(tmp_path, MAR_TEMPS) == []
    assert sweep(tmp_path, MAR_TEMPS) == [kept]  # unlocked now: its descriptor was closed
