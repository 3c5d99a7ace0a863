"""Cross-process locks on environments.

Two kinds, both released by the operating system when their process dies, so a crash never
blocks later runs:

* the *build* lock (:func:`held`, ``filelock``): one process at a time builds, replaces or
  removes an environment; the others wait, saying so;
* the *use* lock (:func:`hold_shared`, ``flock`` shared): every process that runs a model
  in an environment holds it until it exits; :func:`exclusive` tells ``mar env prune``
  whether anyone does. Not available on Windows, where nothing protects an environment in
  use from ``prune``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mar_tools.core.errors import EnvironmentSetupError
from mar_tools.core.reporter import Reporter

#: How long a run waits for another process building the same environment (seconds).
WAIT_SECONDS = 3600.0
#: Use locks this process holds, by path: one descriptor each, closed at exit.
_SHARED: dict[Path, int] = {}


@contextmanager
def held(
    path: Path,
    what: str,
    reporter: Reporter,
    *,
    wait: float = WAIT_SECONDS,
) -> Iterator[None]:
    """Hold the lock file *path* for the duration of the ``with`` block.

    When another process holds it, tell *reporter* once that this one waits for *what*,
    then wait up to *wait* seconds before raising :class:`EnvironmentSetupError`.
    """
    # Imported here: a run that finds its environment takes no build lock, and filelock
    # costs ~12 ms to import.
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        reporter.info(f"waiting for another mar process that is {what}...")
        try:
            lock.acquire(timeout=wait)
        except Timeout as exc:
            raise EnvironmentSetupError(
                f"gave up after {wait:.0f} s waiting for another process {what}.",
                hint=f"if no other mar process is running, remove {path}",
            ) from exc
    try:
        yield
    finally:
        lock.release()


def is_free(path: Path) -> bool:
    """True when nobody holds lock *path* right now (checked by taking it briefly)."""
    if not path.exists():
        return True
    from filelock import FileLock, Timeout

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    lock.release()
    return True


def hold_shared(path: Path) -> None:
    """Take a shared lock on *path* and keep it until this process exits.

    Waits while another process holds it exclusively (a prune removing the environment:
    the caller must check afterwards that the environment is still there). Taking it twice
    is a no-op. When *path* cannot be created (a read-only cache) nothing is held.
    """
    if sys.platform == "win32" or path in _SHARED:
        return
    import fcntl

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    _SHARED[path] = descriptor


def shared_descriptor(path: Path) -> int | None:
    """The descriptor holding this process's shared lock on *path* (see
    :func:`hold_shared`), to pass to a child that must hold it too; None when none is held."""
    return _SHARED.get(path)


@contextmanager
def exclusive(path: Path) -> Iterator[bool]:
    """Hold *path* exclusively for the ``with`` block if no process holds it shared.

    Yields True when it is held (nobody can take it shared meanwhile), False when some
    process (this one included) uses it; never waits.
    """
    if sys.platform == "win32":
        yield True
        return
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)
