"""A server process tree that is always stopped: its own process group, a bounded stop, and a
watchdog that kills the group if the process that started it dies without stopping it.

TorchServe is three layers of processes (the ``torchserve`` launcher, the Java frontend, one
Python worker per model, plus ``pip`` while it installs requirements). ``torchserve --stop``
only signals the JVM and trusts it to clean up; a test run that fails or is killed must not
leave any of them behind. So the launcher starts in a new session (its own process group, which
every descendant inherits), :meth:`ProcessGroup.stop` signals the whole group and then kills
any descendant that left it, and a small watchdog process holds the read end of a pipe whose
write end only this process has: when this process exits for any reason (even ``kill -9`` of
pytest), the pipe closes and the watchdog kills the group.

Linux-only (it reads ``/proc``), like the CI machines.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

#: Kills process group ``argv[1]`` when its stdin reaches EOF without first reading ``stop``.
_WATCHDOG = """\
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
message = sys.stdin.buffer.read()
if message != b"stop":
    try:
        os.killpg(int(sys.argv[1]), signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
"""


class ProcessGroup:
    """A command running as the leader of its own process group, with its output in a file.

    Create with :meth:`start`; always end with :meth:`stop` (idempotent), which returns only
    when every process of the group and every descendant it knew of is gone.
    """

    def __init__(self, leader: subprocess.Popen[bytes], watchdog: subprocess.Popen[bytes]) -> None:
        self._leader = leader
        self._watchdog = watchdog
        self._stopped = False

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        output: Path,
    ) -> ProcessGroup:
        """Start *argv* in a new session with stdout and stderr appended to *output*."""
        with open(output, "ab") as sink:
            leader = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(leader.pid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return cls(leader, watchdog)

    @property
    def pid(self) -> int:
        """PID of the group leader (also the process group id)."""
        return self._leader.pid

    def exit_code(self) -> int | None:
        """The leader's exit status, or None while it runs."""
        return self._leader.poll()

    def stop(self, grace: float = 3.0, kill_wait: float = 10.0) -> None:
        """SIGTERM the group, SIGKILL whatever is left after *grace* seconds, then reap.

        Returns within about ``grace + kill_wait`` seconds; raises ``RuntimeError`` naming the
        PIDs if a process survives SIGKILL (which only an unkillable kernel state can cause).
        """
        if self._stopped:
            return
        self._stopped = True
        known = _identities([self.pid, *descendants(self.pid)])
        _signal_group(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _any_alive(known, self._leader):
            time.sleep(0.05)
        # A descendant may have left the group (setsid) or been re-parented when its parent
        # died: kill each one we ever saw, by identity (pid + start time) so that a recycled
        # PID is never hit.
        known |= _identities(descendants(self.pid))
        _signal_group(self.pid, signal.SIGKILL)
        for identity in known:
            if _identity(identity[0]) == identity:
                _kill(identity[0])
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._leader.wait(timeout=kill_wait)
        deadline = time.monotonic() + kill_wait
        while time.monotonic() < deadline and _any_alive(known, self._leader):
            time.sleep(0.05)
        self._dismiss_watchdog()
        survivors = sorted(pid for pid, start in known if _identity(pid) == (pid, start))
        if survivors:
            raise RuntimeError(f"processes {survivors} survived SIGKILL")

    def _dismiss_watchdog(self) -> None:
        stdin: IO[bytes] | None = self._watchdog.stdin
        if stdin is not None:
            try:
                stdin.write(b"stop")
                stdin.close()
            except BrokenPipeError:
                pass
        try:
            self._watchdog.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._watchdog.kill()
            self._watchdog.wait()


def descendants(root: int) -> list[int]:
    """PIDs of every live descendant of *root* (children, grandchildren, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _identity(pid: int) -> tuple[int, int] | None:
    """(pid, start time) of a live, non-zombie process; None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return pid, int(fields[19])


def _identities(pids: list[int]) -> set[tuple[int, int]]:
    found = (_identity(pid) for pid in pids)
    return {identity for identity in found if identity is not None}


def _any_alive(known: set[tuple[int, int]], leader: subprocess.Popen[bytes]) -> bool:
    leader.poll()  # reap the leader so that it stops counting as alive
    return any(_identity(pid) == (pid, start) for pid, start in known)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
