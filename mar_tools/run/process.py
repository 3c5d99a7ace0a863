"""The worker process, seen from ``mar run``: start it, talk to it, and always clean it up.

The worker runs ``mar_tools/worker/entry.py`` in the model's interpreter, with the model
directory as its working directory and the environment TorchServe gives its workers:
``PYTHONPATH`` = [the handler's directory when it names a function] + the user's
``PYTHONPATH`` + the model directory (+ its parent when it is a symlink), and
``TS_DECODE_INPUT_REQUEST=true``, ``TS_IPEX_ENABLE=false``, ``TS_IPEX_GPU_ENABLE=false``.
The environment is passed explicitly; this process's ``os.environ`` is never modified.

Messages (:mod:`mar_tools.worker.messages`) go over two pipes; the worker's own output
(handler prints and logs) goes to this process's stderr, or nowhere with ``quiet``. The
worker leads its own process group, killed when the run ends, so processes a handler
starts and leaves running cannot outlive ``mar run``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import mar_tools.worker
from mar_tools.core.handler_ref import HandlerRef
from mar_tools.worker.messages import FromWorker, MessageError, ToWorker, receive
from mar_tools.worker.wire import WireError, write_message

ENTRY_SCRIPT = Path(mar_tools.worker.__file__).resolve().parent / "entry.py"
#: The directory holding our ``ts`` package. Located, never imported: that code is for the
#: worker's interpreter (handlers import it as ``ts``), not for this process.
COMPAT_DIR = Path(mar_tools.worker.__file__).resolve().parents[1] / "compat"
#: How long a worker may take to exit after its last answer before it is killed.
EXIT_GRACE_SECONDS = 5.0


def worker_environment(
    base: Mapping[str, str], extra: Mapping[str, str], model_dir: Path, handler: str
) -> dict[str, str]:
    """The worker's environment (see the module docstring)."""
    env = dict(base)
    env.update(extra)
    path: list[str] = []
    ref = HandlerRef.parse(handler)
    if ref.function is not None:
        path.append(ref.path_part.rsplit("/", 1)[0])  # the directory part, as Java's substring
    if base.get("PYTHONPATH"):
        path.append(base["PYTHONPATH"])
    path.append(str(model_dir.resolve()))
    if model_dir.is_symlink():
        path.append(str(model_dir.absolute().parent))
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["TS_DECODE_INPUT_REQUEST"] = "true"
    env["TS_IPEX_ENABLE"] = "false"
    env["TS_IPEX_GPU_ENABLE"] = "false"
    return env


def spawn_worker(
    python: Path, env: Mapping[str, str], model_dir: Path, output: int | None
) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start ``entry.py`` in *python* for the model in *model_dir*, leading its own process
    group, its stdout and stderr on the file descriptor *output* (None: inherited).

    Returns the process and the parent's ends of the two protocol pipes: ``(process,
    fd to write to the worker, fd to read from it)``; the caller owns both.
    """
    worker_in, parent_out = os.pipe()
    parent_in, worker_out = os.pipe()
    try:
        process = subprocess.Popen(
            [
                str(python),
                str(ENTRY_SCRIPT),
                *("--in-fd", str(worker_in), "--out-fd", str(worker_out)),
                *("--compat-dir", str(COMPAT_DIR)),
            ],
            cwd=model_dir,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            pass_fds=(worker_in, worker_out),
            start_new_session=True,
        )
    except BaseException:
        for fd in (worker_in, parent_out, parent_in, worker_out):
            os.close(fd)
        raise
    os.close(worker_in)
    os.close(worker_out)
    return process, parent_out, parent_in


class WorkerProcess:
    """A running worker. Use as a context manager: leaving it always ends the process group."""

    def __init__(
        self, process: subprocess.Popen[bytes], to_worker: IO[bytes], from_worker: IO[bytes]
    ):
        self.process = process
        self._to_worker = to_worker
        self._from_worker = from_worker

    @classmethod
    def start(
        cls, python: Path, env: Mapping[str, str], model_dir: Path, *, quiet: bool
    ) -> WorkerProcess:
        """Start the worker for the model in *model_dir* with interpreter *python*."""
        output: int | None = subprocess.DEVNULL if quiet else 2
        process, parent_out, parent_in = spawn_worker(python, env, model_dir, output)
        return cls(process, os.fdopen(parent_out, "wb"), os.fdopen(parent_in, "rb"))

    def send_all(self, messages: Sequence[ToWorker]) -> None:
        """Send *messages* from a background thread, then close the pipe (end of input).

        Writing in the background lets the worker read requests while this process reads
        answers, whatever the size of either. The messages are encoded here first, so an
        error in one is raised to the caller.
        """
        encoded = [message.to_json() for message in messages]

        def write() -> None:
            try:
                for header, blobs in encoded:
                    write_message(self._to_worker, header, blobs)
            except (BrokenPipeError, ValueError, OSError):
                pass  # the worker stopped reading: its answer (or its death) says why
            finally:
                with contextlib.suppress(OSError):
                    self._to_worker.close()

        threading.Thread(target=write, name="mar-run-writer", daemon=True).start()

    def receive(self) -> FromWorker | None:
        """The next message from the worker, or None when it closed its pipe (or broke off
        in the middle of a message). Raises ``MessageError`` for a message that is not one
        the worker may send, or that this version of the protocol cannot read."""
        try:
            message = receive(self._from_worker)
        except WireError:
            return None
        if message is not None and not isinstance(message, FromWorker):
            raise MessageError(f"the worker sent a {message.TYPE!r} message, which only mar sends")
        return message

    def describe_exit(self) -> str:
        """How the worker ended, for error messages (waits briefly for it to end)."""
        self._wait_for_exit(EXIT_GRACE_SECONDS)
        code = self._exit_status()
        if code is None:
            return "it stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"it was killed by {name}"
        return f"it exited with status {code}"

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        # On an error or Ctrl-C the worker is killed at once; otherwise it may finish.
        self.stop(grace=0.0 if exc_type is not None else EXIT_GRACE_SECONDS)

    def stop(self, grace: float = EXIT_GRACE_SECONDS) -> None:
        """Give the worker *grace* seconds to exit, then kill its whole process group.

        Where :func:`os.waitid` exists the group is killed while the worker is still
        unreaped, so its id cannot have been reused by an unrelated process. (Without it,
        on macOS before Python 3.13, the id stays reserved only while a process the handler
        started is still in the group, which is when the kill matters.)
        """
        self._wait_for_exit(grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self._from_worker, self._to_worker):
            with contextlib.suppress(OSError):
                stream.close()

    def _wait_for_exit(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._exit_status() is None and time.monotonic() < deadline:
            time.sleep(0.005)

    def _exit_status(self) -> int | None:
        """The worker's exit status (``-N``: killed by signal N), or None while it runs.

        Reaps the worker only where :func:`os.waitid` is missing (see :meth:`stop`).
        """
        if self.process.returncode is not None:
            return self.process.returncode
        if not hasattr(os, "waitid"):
            return self.process.poll()
        try:
            found = os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        except ChildProcessError:  # reaped by someone else: poll() records that
            return self.process.poll()
        if found is None:
            return None
        return found.si_status if found.si_code == os.CLD_EXITED else -found.si_status
