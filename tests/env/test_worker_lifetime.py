"""A model's environment counts as in use for as long as its worker runs.

``mar env prune`` used to delete the environment of a worker that a ``kill -9`` of ``mar
run`` had left running. The worker now inherits the environment's use lock (so the lock is
held while any of the two runs) and dies with its parent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.env.conftest import MAR
from tests.env.models import make_model

SLEEPER = """\
import os, pathlib, time


def handle(data, context):
    pathlib.Path(os.environ["PID_FILE"]).write_text(str(os.getpid()))
    time.sleep(300)
"""


def _wait_for(path: Path, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.05)
    return int(path.read_text())


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"):
            return True  # dead, waiting for its new parent to reap it
        time.sleep(0.05)
    return False


def _prune(cache_dir: Path) -> str:
    done = subprocess.run(
        [str(MAR), "env", "prune", "--all", "--yes"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "MAR_CACHE_DIR": str(cache_dir)},
        check=True,
    )
    return done.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_worker_holds_the_use_lock_and_dies_with_its_run(
    tmp_path: Path, cache_dir: Path
) -> None:
    model = make_model(
        tmp_path / "model", name="sleeper", files={"handler.py": SLEEPER}, config={"useVenv": True}
    )
    archive = model.archive(tmp_path / "sleeper.mar")
    pid_file = tmp_path / "worker.pid"
    run = subprocess.Popen(
        [str(MAR), "run", str(archive), "--installer", "pip", "--pip-option=--no-index"],
        env={**os.environ, "PID_FILE": str(pid_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = _wait_for(pid_file)
    try:
        envs = [p for p in (cache_dir / "envs").iterdir() if not p.name.startswith(".")]
        assert len(envs) == 1
        use_lock = cache_dir / "envs" / ".locks" / f"{envs[0].name}.use"
        held = {str(fd.resolve()) for fd in Path(f"/proc/{worker}/fd").iterdir()}
        assert str(use_lock) in held  # the worker keeps the environment in use by itself
        assert f"skipped environment {envs[0].name}" in _prune(cache_dir)

        run.send_signal(signal.SIGKILL)
        run.wait()
        assert _gone(worker), "the worker outlived its mar run"
        assert f"removed environment {envs[0].name}" in _prune(cache_dir)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)
        run.kill()
