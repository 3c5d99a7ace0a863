"""Tying the worker's life to the ``mar`` process that started it.

A worker whose parent dies (``kill -9`` of ``mar run``, an OOM kill) must not run on under
PID 1: it would keep the model's environment busy, or be deleted under it by ``mar env
prune``. On Linux the kernel kills the worker when its parent dies
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``). Elsewhere a watchdog thread waits on a pipe whose
write end only the parent holds: end of file means the parent is gone, and the worker kills
its process group (itself and what its handler started).

Standard library only (this runs in the model's interpreter).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
_PR_SET_PDEATHSIG = 1


def tie_to_parent(parent: int, lifeline: int | None) -> str:
    """Make this process die when process *parent* does; return how (``pdeathsig``,
    ``watchdog`` or ``none``). *lifeline* is the read end of the parent's lifeline pipe
    (None when the parent gave none). Exits at once when the parent is already gone."""
    how = "none"
    if _set_parent_death_signal():
        how = "pdeathsig"
    elif lifeline is not None:
        threading.Thread(target=_watch, args=(lifeline,), name="mar-lifeline", daemon=True).start()
        how = "watchdog"
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)
    if how == "pdeathsig" and lifeline is not None:
        with contextlib.suppress(OSError):
            os.close(lifeline)
    return how


def _set_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(lifeline: int) -> None:
    """Block until the parent's end of the lifeline closes, then end the process group."""
    while True:
        try:
            if not os.read(lifeline, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    with contextlib.suppress(OSError):
        os.killpg(os.getpgid(0), signal.SIGKILL)
    os._exit(1)
