"""Cross-process locks around building an environment, with a message while waiting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from mar_tools.environment.errors import EnvironmentSetupError

#: How long a run waits for another process building the same environment (seconds).
WAIT_SECONDS = 3600.0


@contextmanager
def held(
    path: Path,
    what: str,
    log: Callable[[str], None],
    *,
    wait: float = WAIT_SECONDS,
) -> Iterator[None]:
    """Hold the lock file *path* for the duration of the ``with`` block.

    When another process holds it, log once that this one waits for *what*, then wait up
    to *wait* seconds before raising :class:`EnvironmentSetupError`. The operating system
    releases the lock of a process that dies, so a crash never blocks later runs.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log(f"waiting for another mar process that is {what}...")
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
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    lock.release()
    return True
