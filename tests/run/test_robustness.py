"""``mar run`` against handlers that misbehave: children that inherit the worker's pipes, a
``mar`` process stopped by a signal, response fields TorchServe cannot encode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.run.support import build_archive, manifest, mar_env, run_mar, source


def _archive(tmp_path: Path, name: str, handler: str) -> Path:
    return build_archive(tmp_path / "model", {name: handler}, manifest(name))


def _wait_for_text(path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.05)
    return path.read_text()


def _assert_gone(pid: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"process {pid} is still running")


FORKING = source(
    """
    import multiprocessing
    import os
    import time


    def handle(data, context):
        if data is None:
            child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(300,))
            child.start()
            return None
        with open(data[0]["body"].decode(), "w") as handle:
            handle.write(str(multiprocessing.active_children()[0].pid))
        os._exit(3)
    """
)


def test_a_forked_child_does_not_keep_the_run_waiting_for_a_dead_worker(
    tmp_path: Path, cache: Path
) -> None:
    # The child inherits the worker's pipes by fork(); while it held them, mar run waited
    # for the end of the stream until the child ended (here 300 s).
    archive = _archive(tmp_path, "forks.py", FORKING)
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    done = run_mar([archive, "--data", str(pid_file)], cache=cache, timeout=60)
    assert (done.returncode, done.stdout) == (7, b"")
    assert done.stderr == (
        "mar: error: the worker process died while handling batch 1 (it exited with status 3).\n"
        "hint: run without --quiet to see its output.\n"
    )
    assert time.monotonic() - started < 30
    _assert_gone(int(pid_file.read_text()))


STUCK = source(
    """
    import subprocess
    import time


    def handle(data, context):
        if data:
            child = subprocess.Popen(["sleep", "300"])
            with open(data[0]["body"].decode(), "w") as handle:
                handle.write(str(child.pid))
            time.sleep(300)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_run_stops_the_worker_and_its_children(
    tmp_path: Path, cache: Path, signum: signal.Signals
) -> None:
    # `timeout`, a CI runner or a closed terminal stop mar with SIGTERM or SIGHUP: the
    # worker's process group must not be left running (it was, with its children).
    archive = _archive(tmp_path, "stuck.py", STUCK)
    pid_file = tmp_path / "child.pid"
    process = subprocess.Popen(
        [sys.executable, "-m", "mar_tools", "run", str(archive), "--data", str(pid_file)],
        env=mar_env(cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child = int(_wait_for_text(pid_file))
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=30)
    assert (process.returncode, stdout, stderr) == (128 + signum, b"", b"")
    _assert_gone(child)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ('context.set_response_header(0, "X-Count", 5)',
         "AttributeError: 'int' object has no attribute 'encode'"),
        ('context.set_response_status("201")', "error: required argument is not an integer"),
    ],
)  # fmt: skip
def test_response_fields_torchserve_cannot_encode_end_the_worker(
    tmp_path: Path, cache: Path, call: str, error: str
) -> None:
    # TorchServe's create_predict_response raises on them and its worker dies; mar run
    # used to convert them to strings and answer 200.
    handler = f"def handle(data, context):\n    if data:\n        {call}\n        return ['x']\n"
    archive = _archive(tmp_path, "bad.py", handler)
    done = run_mar([archive, "--data", "x"], cache=cache)
    assert (done.returncode, done.stdout) == (7, b"")
    assert done.stderr.endswith(f"mar: error: the worker failed while handling batch 1: {error}\n")


def test_an_exception_without_a_message_is_named_alone(tmp_path: Path, cache: Path) -> None:
    handler = "def handle(data, context):\n    if data:\n        raise KeyboardInterrupt\n"
    archive = _archive(tmp_path, "ctrl_c.py", handler)
    done = run_mar([archive, "--data", "x"], cache=cache)
    assert done.returncode == 7
    assert done.stderr.endswith(
        "KeyboardInterrupt\n"
        "mar: error: the worker failed while handling batch 1: KeyboardInterrupt\n"
    )
