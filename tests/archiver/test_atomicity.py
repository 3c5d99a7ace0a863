"""Safety: a failed, interrupted or killed build never leaves a partial archive and never
touches an existing one; ``-f`` replaces only on success; leftovers are cleaned."""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mar_tools.core.placement import create_unnamed
from mar_tools.core.reporter import SilentReporter
from mar_tools.core.staging import sweep
from tests.archiver.outputs import MANIFEST, entries, write
from torch_model_archiver import (
    ArchiveSpec,
    InputError,
    OutputExistsError,
    SourceChangedError,
    build_archive,
)
from torch_model_archiver.output import ARCHIVER_TEMPS
from torch_model_archiver.spec import ArchiveFormat

OUTPUTS = {"default": "m.mar", "tgz": "m.tar.gz", "no-archive": "m"}
#: The command line, as a real process, archiving ./big.bin as the model m (with -f).
BUILD_BIG = [sys.executable, "-m", "torch_model_archiver", "--model-name", "m", "--handler",
             "handler.py", "-v", "1", "--serialized-file", "big.bin", "-f"]  # fmt: skip


class _Sabotage(SilentReporter):
    """A reporter that does something nasty when the first bytes are written."""

    def __init__(self, action: object) -> None:
        super().__init__()
        self.action = action
        self.done = False

    def advance(self, amount: int, /) -> None:
        if amount and not self.done:
            self.done = True
            assert callable(self.action)
            self.action()


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if ".tma-" in path.name)


def spec(
    model_dir: Path, fmt: ArchiveFormat = ArchiveFormat.DEFAULT, **extra: object
) -> ArchiveSpec:
    values: dict[str, object] = {
        "model_name": "m",
        "handler": "handler.py",
        "version": "1",
        "base_dir": model_dir,
        "archive_format": fmt,
        "extra_files": ("weights.pt", "extra"),
    }
    values.update(extra)
    return ArchiveSpec(**values)  # type: ignore[arg-type]


def _old_output(model_dir: Path, fmt: str) -> bytes:
    target = model_dir / OUTPUTS[fmt]
    if fmt == "no-archive":
        write(target / "stale.txt", "old")
        return b"old"
    write(target, b"the old archive")
    return b"the old archive"


def _old_output_intact(model_dir: Path, fmt: str, old: bytes) -> bool:
    target = model_dir / OUTPUTS[fmt]
    if fmt == "no-archive":
        return (target / "stale.txt").read_bytes() == old
    return target.read_bytes() == old


def _staged_bytes(model_dir: Path, pid: int) -> int:
    """What a build has written so far: its named temporaries beside the output, and the
    unnamed (``O_TMPFILE``) files it holds open there (``/proc``: ``<dir>/#<inode>``)."""
    total = sum(_size(model_dir / name) for name in leftovers(model_dir))
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if str(fd.readlink()).startswith(f"{model_dir}/#"):
                    total += fd.stat().st_size
    return total


@pytest.mark.parametrize("fmt", list(OUTPUTS))
def test_sigkill_mid_write_leaves_the_old_output_and_a_cleanable_leftover(
    model_dir: Path, fmt: str
) -> None:
    """An archive is staged unnamed (O_TMPFILE): a killed build leaves nothing at all. A
    no-archive directory is staged under a locked name: the next build sweeps it."""
    big = model_dir / "big.bin"
    with open(big, "wb") as stream:  # sparse: costs no disk, takes a while to compress
        stream.truncate(1 << 30)
    old = _old_output(model_dir, fmt)
    env = {**os.environ, "MAR_DEFLATE_BACKEND": "zlib", "PYTHONPATH": str(Path.cwd())}
    command = [
        *BUILD_BIG,
        "-j",
        "1",
        "--archive-format",
        fmt,
    ]
    process = subprocess.Popen(command, cwd=model_dir, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if _staged_bytes(model_dir, process.pid) > 1 << 20:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the build ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.stderr is not None
    process.stderr.close()
    assert _old_output_intact(model_dir, fmt, old)
    if fmt == "no-archive" or create_unnamed(model_dir) is None:
        (name,) = leftovers(model_dir)
        assert name.startswith(f".{OUTPUTS[fmt]}.tma-") and name.endswith(".partial")
    else:
        assert leftovers(model_dir) == []

    result = build_archive(spec(model_dir, ArchiveFormat(fmt), force=True))
    assert leftovers(model_dir) == []
    assert sorted(entries(result.path)) == sorted(
        [MANIFEST, ".env", "a.txt", "handler.py", "sub/b.txt", "weights.pt"]
    )


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(child.stat().st_size for child in path.rglob("*") if child.is_file())
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("fmt", list(OUTPUTS))
def test_an_input_changing_during_the_build_fails_cleanly(model_dir: Path, fmt: str) -> None:
    """The file is big enough to be still being read (in pieces) when it grows."""
    old = _old_output(model_dir, fmt)
    big = write(model_dir / "a_big.bin", os.urandom(16 << 20))

    def grow() -> None:
        with open(big, "ab") as stream:
            stream.write(b"more")

    with pytest.raises(SourceChangedError, match=r"a_big\.bin changed size"):
        build_archive(
            spec(model_dir, ArchiveFormat(fmt), force=True, extra_files=("extra", "a_big.bin")),
            reporter=_Sabotage(grow),
            jobs=1,
        )
    assert _old_output_intact(model_dir, fmt, old)
    assert leftovers(model_dir) == []


@pytest.mark.parametrize("fmt", list(OUTPUTS))
def test_an_interrupt_removes_the_temporary_output(model_dir: Path, fmt: str) -> None:
    old = _old_output(model_dir, fmt)

    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_archive(
            spec(model_dir, ArchiveFormat(fmt), force=True), reporter=_Sabotage(interrupt)
        )
    assert _old_output_intact(model_dir, fmt, old)
    assert leftovers(model_dir) == []


def test_an_output_appearing_during_the_build_is_not_overwritten(model_dir: Path) -> None:
    target = model_dir / "m.mar"

    def someone_else_writes() -> None:
        target.write_bytes(b"theirs")

    with pytest.raises(OutputExistsError):
        build_archive(spec(model_dir), reporter=_Sabotage(someone_else_writes))
    assert target.read_bytes() == b"theirs"
    assert leftovers(model_dir) == []


def test_no_archive_force_leaves_no_stale_files(model_dir: Path) -> None:
    write(model_dir / "m" / "stale.txt", "from an older build")
    write(model_dir / "m" / "sub" / "old.bin", "older still")
    result = build_archive(spec(model_dir, ArchiveFormat.NO_ARCHIVE, force=True))
    assert sorted(entries(result.path)) == sorted(
        [MANIFEST, ".env", "a.txt", "handler.py", "sub/b.txt", "weights.pt"]
    )
    assert leftovers(model_dir) == []


def test_no_archive_without_force_refuses_an_existing_directory(model_dir: Path) -> None:
    write(model_dir / "m" / "keep.txt", "mine")
    with pytest.raises(OutputExistsError):
        build_archive(spec(model_dir, ArchiveFormat.NO_ARCHIVE))
    assert (model_dir / "m" / "keep.txt").read_text() == "mine"


def test_no_archive_force_replaces_a_file_of_that_name(model_dir: Path) -> None:
    write(model_dir / "m", "a file in the way")
    result = build_archive(spec(model_dir, ArchiveFormat.NO_ARCHIVE, force=True))
    assert (result.path / MANIFEST).is_file()


def test_force_does_not_replace_a_directory_by_an_archive(model_dir: Path) -> None:
    write(model_dir / "m.mar" / "inside", "x")
    with pytest.raises(InputError, match="is a directory; remove it to write an archive there"):
        build_archive(spec(model_dir, force=True))
    assert (model_dir / "m.mar" / "inside").read_text() == "x"


def test_a_full_disk_exits_3_and_keeps_the_old_archive(model_dir: Path) -> None:
    write(model_dir / "big.bin", os.urandom(3 << 20))
    old = _old_output(model_dir, "default")

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    done = subprocess.run(
        BUILD_BIG,
        cwd=model_dir,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr == (
        f"torch-model-archiver: error: cannot write {model_dir / 'm.mar'}: File too large; "
        "nothing was replaced.\n"
        f"hint: check the free space and permissions of {model_dir}.\n"
    )
    assert _old_output_intact(model_dir, "default", old)
    assert leftovers(model_dir) == []


def test_stale_leftovers_are_removed_unless_a_live_build_holds_them(tmp_path: Path) -> None:
    target = tmp_path / "m.mar"
    dead = write(tmp_path / ".m.mar.tma-0000dead.partial", b"half an archive")
    (tmp_path / ".m.mar.tma-0000d1r0.partial").mkdir()
    alive = write(tmp_path / ".m.mar.tma-0000a11e.partial", b"being written")
    other = write(tmp_path / ".n.mar.tma-0000dead.partial", b"another model's")
    holder = os.open(alive, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        removed = sweep(tmp_path, ARCHIVER_TEMPS, target=target)
    finally:
        os.close(holder)
    assert sorted(path.name for path in removed) == [
        ".m.mar.tma-0000d1r0.partial",
        ".m.mar.tma-0000dead.partial",
    ]
    assert not dead.exists() and alive.exists() and other.exists()


def test_long_model_names_get_short_enough_temporary_names(model_dir: Path) -> None:
    name = "m" * 240
    result = build_archive(spec(model_dir, model_name=name))
    assert result.path.name == name + ".mar"
