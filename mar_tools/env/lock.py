"""Cross-process locks on environments.

Two kinds, both released by the operating system when their process dies, so a crash never
blocks later runs:

* the *build* lock (:func:`held`, ``filelock``): one process at a time builds, replaces or
  removes an environment; the others wait, saying so;
* the *use* lock (:func:`hold_shared`, ``flock`` shared, from
  :mod:`mar_tools.core.use_lock`): every process that runs a model in an environment holds
  it until it exits; :func:`exclusive` tells ``mar env prune`` and ``mar cache prune``
  whether anyone does. Not available on Windows, where nothing protects an environment in
  use from ``prune``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mar_tools.core.errors import EnvironmentSetupError
from mar_tools.core.reporter import Reporter
from mar_tools.core.use_lock import exclusive, hold_shared, shared_descriptor

__all__ = ["WAIT_SECONDS", "exclusive", "held", "hold_shared", "is_free", "shared_descriptor"]

#: How long a run waits for another process building the same environment (seconds).
WAIT_SECONDS = 3600.0


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
