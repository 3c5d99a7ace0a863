"""Running a command with a pseudo-terminal as its stdin and stderr, as a user at a
terminal would: what a spinner draws and a prompt asks can be read, and answered."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TerminalRun:
    """A finished command: its exit code, its stdout (a pipe) and what it wrote to the
    terminal (stderr), decoded."""

    returncode: int
    stdout: str
    terminal: str


def run_in_terminal(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    answers: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> TerminalRun:
    """Run *argv* with a pseudo-terminal as stdin and stderr (stdout stays a pipe). Each
    time the terminal output comes to end with a key of *answers*, its value is typed."""
    primary, secondary = pty.openpty()
    child = subprocess.Popen(
        list(argv),
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=secondary,
        env={"TERM": "xterm", "COLUMNS": "160", "LINES": "40", **env},
        close_fds=True,
    )
    os.close(secondary)
    pending = dict(answers or {})
    seen = b""
    out = b""
    assert child.stdout is not None
    pipe = child.stdout.fileno()
    open_fds = {primary, pipe}
    deadline = time.monotonic() + timeout
    try:
        while open_fds and time.monotonic() < deadline:
            ready, _, _ = select.select(list(open_fds), [], [], 0.1)
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal (EIO on Linux)
                    chunk = b""
                if not chunk:
                    open_fds.discard(fd)
                elif fd == pipe:
                    out += chunk
                else:
                    seen += chunk
                    text = seen.decode("utf-8", "replace").rstrip()
                    for prompt in list(pending):
                        if text.endswith(prompt.rstrip()):
                            os.write(primary, pending.pop(prompt).encode() + b"\n")
            if not ready and child.poll() is not None and primary in open_fds:
                open_fds.discard(primary)  # exited; a grandchild may keep the terminal open
        returncode = child.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        os.close(primary)
    return TerminalRun(returncode, out.decode("utf-8", "replace"), seen.decode("utf-8", "replace"))
