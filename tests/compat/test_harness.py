"""The TorchServe harness itself: it fails loudly without Java, and it leaves no process
behind, whether the suite stops it or dies without stopping it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.compat.broken import CONTROL
from tests.support.process_group import descendants
from tests.support.torchserve import TEST_VMARGS, JavaNotFound, TorchServe, require_java
from tests.support.upstream import torchserve_venv

pytestmark = pytest.mark.compat


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


def test_missing_java_is_an_error_that_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(JavaNotFound, match=r"Java 17\+.*JAVA_HOME"):
        require_java()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JavaNotFound, match="no `java` found"):
        require_java()


def test_stop_ends_launcher_jvm_and_workers(tmp_path: Path) -> None:
    server = TorchServe.start(torchserve_venv(), tmp_path / "server", vmargs=TEST_VMARGS)
    try:
        CONTROL.write(server.model_store)
        assert server.register(CONTROL.url, model_name="control").status == 200
        tree = [server.pid, *descendants(server.pid)]
        # launcher, JVM and the model's Python worker at least
        assert len(tree) >= 3, tree
    finally:
        started = time.monotonic()
        server.stop()
    assert time.monotonic() - started < 20
    assert _wait_gone(tree, 1.0) == []


def test_watchdog_kills_the_server_when_its_owner_dies(tmp_path: Path) -> None:
    owner_script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from tests.support.torchserve import TEST_VMARGS, TorchServe\n"
        "from tests.support.upstream import torchserve_venv\n"
        "server = TorchServe.start(torchserve_venv(), Path(sys.argv[1]), vmargs=TEST_VMARGS)\n"
        "print(server.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    root = Path(__file__).resolve().parents[2]
    owner = subprocess.Popen(
        [sys.executable, "-c", owner_script, str(tmp_path / "server")],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        leader = int(owner.stdout.readline())
        tree = [leader, *descendants(leader)]
        assert len(tree) >= 2, tree  # launcher and JVM
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
    assert _wait_gone(tree, 15.0) == []
