"""The worker process as ``mar run`` sees it: how it ended, and stopping its process group,
with and without :func:`os.waitid` (which CPython on macOS lacks before 3.13)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mar_tools.run.process import WorkerProcess


@pytest.fixture(params=["waitid", "no-waitid"])
def waitid(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if request.param == "no-waitid":
        monkeypatch.delattr(os, "waitid", raising=False)
    yield


def _worker(code: str) -> WorkerProcess:
    """A stand-in worker running *code*, leading its own process group like the real one."""
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    read_end, write_end = os.pipe()
    return WorkerProcess(process, os.fdopen(write_end, "wb"), os.fdopen(read_end, "rb"))


@pytest.mark.usefixtures("waitid")
def test_an_exit_status_is_described() -> None:
    worker = _worker("import sys; sys.exit(3)")
    assert worker.describe_exit() == "it exited with status 3"
    worker.stop()
    assert worker.process.returncode == 3


@pytest.mark.usefixtures("waitid")
def test_a_signal_is_described() -> None:
    worker = _worker("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert worker.describe_exit() == "it was killed by SIGKILL"
    worker.stop()


@pytest.mark.usefixtures("waitid")
def test_stop_kills_the_group_of_a_worker_that_does_not_end() -> None:
    worker = _worker("import time; time.sleep(300)")
    worker.stop(grace=0.05)
    assert worker.process.returncode == -9
