"""How long a run and its worker live, and what a run costs in memory.

* ``kill -9`` of ``mar run`` used to leave the worker running under PID 1 until its call
  returned; the worker now dies with its parent.
* ``--repeat N`` used to build all N batches before sending the first (1.4 GB for a
  million); the batches are now made as the pipe takes them, so ``mar``'s memory does not
  grow with N.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.run.support import build_archive, manifest, mar_env, source

SLEEPER = source(
    """
    import os, pathlib, time


    def handle(data, context):
        pathlib.Path(os.environ["PID_FILE"]).write_text(str(os.getpid()))
        time.sleep(300)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its (new) parent.
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ", 1)[1].startswith("Z"))


def _wait_for(path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.05)
    return path.read_text()


def test_a_killed_run_takes_its_worker_with_it(tmp_path: Path, cache: Path) -> None:
    archive = build_archive(tmp_path / "model", {"sleeper.py": SLEEPER}, manifest("sleeper.py"))
    pid_file = tmp_path / "worker.pid"
    run = subprocess.Popen(
        [sys.executable, "-m", "mar_tools", "run", str(archive)],
        env={**mar_env(cache), "PID_FILE": str(pid_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = int(_wait_for(pid_file))
    try:
        run.send_signal(signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker), "the worker outlived its mar run"
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)


def _peak_rss(args: list[str], cache: Path) -> int:
    """Run ``mar run ARGS``; return its own peak RSS in bytes (not the worker's)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mar_tools", "run", *args],
        env=mar_env(cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0
    return usage.ru_maxrss * 1024


@pytest.mark.slow
def test_repeat_does_not_grow_memory_with_n(tmp_path: Path, cache: Path) -> None:
    handler = "def handle(data, context):\n    return [1 for _ in data or []]\n"
    archive = build_archive(tmp_path / "model", {"h.py": handler}, manifest("h.py"))
    base = [str(archive), "--data", "x", "--quiet"]
    _peak_rss(base, cache)  # extracts into the cache: the runs below find it there
    few = _peak_rss([*base, "--repeat", "10"], cache)
    many = _peak_rss([*base, "--repeat", "15000"], cache)
    # Before: about 1.4 KB per repetition (21 MB here; 1.4 GB for a million).
    assert many - few < 8 << 20, (few, many)
