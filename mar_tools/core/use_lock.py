"""Use locks: how a running command keeps a cache entry (an extraction, an environment)
away from ``mar cache prune``/``clean`` and ``mar env prune``.

A use lock is a small file held with a shared ``flock`` by every process that uses the
entry, from the moment it starts using it until it exits (the operating system drops the
lock with the process, so a crash never pins an entry). A remover takes it exclusively
without waiting (:func:`exclusive`): it gets it only when no process holds it shared, and
while it holds it nobody can start using the entry. Not available on Windows, where
nothing protects an entry in use.

A remover may delete the lock file while it holds it; a user that was waiting for the
lock then holds an orphan, so :func:`hold_shared` checks after locking that the file it
locked is still the one under the name, and starts over when it is not.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Use locks this process holds, by path: one descriptor each, closed at exit.
_SHARED: dict[Path, int] = {}
#: Guards :data:`_SHARED`: preparations in several threads (``mar serve``) may take the same
#: lock at once, and each must find the one descriptor, never open a second.
_SHARED_GUARD = threading.Lock()
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def hold_shared(path: Path, *, touch: bool = False) -> None:
    """Take a shared lock on *path* and keep it until this process exits; with *touch*,
    also set its modification time to now (the entry's last use: one ``futimes``, atomic).

    Waits while another process holds it exclusively (a removal: the caller must check
    afterwards that the entry is still there). Taking it twice only touches it again. When
    *path* cannot be created (a read-only cache) nothing is held.
    """
    if sys.platform == "win32":
        return
    with _SHARED_GUARD:  # held while waiting for a removal too: that wait is short
        descriptor = _SHARED.get(path)
        if descriptor is None:
            descriptor = _lock_shared(path)
            if descriptor is None:
                return
            _SHARED[path] = descriptor
    if touch:
        # A read-only cache still works; only the last-use time goes stale.
        with contextlib.suppress(OSError):
            os.utime(descriptor)


def _lock_shared(path: Path) -> int | None:
    import fcntl

    while True:
        try:
            descriptor = _open(path)
        except OSError:
            return None
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        if _is_current(path, descriptor):
            return descriptor
        os.close(descriptor)  # removed while we waited: lock the new file instead


def shared_descriptor(path: Path) -> int | None:
    """The descriptor holding this process's shared lock on *path* (see
    :func:`hold_shared`), to pass to a child that must hold it too; None when none is held."""
    return _SHARED.get(path)


def holds(path: Path) -> bool:
    """True when this process holds the use lock *path* (see :func:`hold_shared`)."""
    return path in _SHARED


@contextmanager
def exclusive(path: Path, *, remove: bool = False) -> Iterator[bool]:
    """Hold *path* exclusively for the ``with`` block if no process holds it shared.

    Yields True when it is held (nobody can take it shared meanwhile), False when some
    process (this one included) uses it; never waits. With *remove*, a lock that was held
    is deleted before it is released (for an entry the block removed).
    """
    if sys.platform == "win32":
        yield True
        return
    import fcntl

    descriptor = _open(path)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
        if remove and _is_current(path, descriptor):
            path.unlink()
    finally:
        os.close(descriptor)


def is_used(path: Path) -> bool:
    """True when some process holds the use lock *path* shared right now (never waits)."""
    if not path.exists():
        return False
    with exclusive(path) as free:
        return not free


def last_touched(path: Path) -> float | None:
    """The modification time of the use lock *path* (see *touch* of :func:`hold_shared`),
    or None when it does not exist."""
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _open(path: Path) -> int:
    """*path* opened (created if need be, its directory too) for locking."""
    flags = os.O_RDWR | os.O_CREAT | _CLOEXEC
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:  # the first lock of its directory: one mkdir, then again
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o666)


def _is_current(path: Path, descriptor: int) -> bool:
    try:
        here, held = path.stat(), os.fstat(descriptor)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)
