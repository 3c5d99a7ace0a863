"""Publishing a file or directory in one step: staged beside its target, then put in place.

Every writer of mar-tools (the archiver's output, ``mar run --output``, ``mar validate
--output``, the extraction cache, the environment store) goes through this module, so a
reader sees either the old target or the complete new one, never a partial one, and a
writer killed half-way (even by ``kill -9``) leaves nothing that outlives the next write.

* **Files: unnamed until published.** Where the system has ``O_TMPFILE`` (Linux, on most
  file systems) a file is staged with no name at all in the target's directory and linked
  into place (:mod:`~mar_tools.core.placement`): a killed writer leaves nothing behind.
* **Otherwise: a named temporary, held under a lock.** Directories (and files where there
  is no ``O_TMPFILE``) are staged under a fresh name beside the target,
  ``.<target name>.<tag>-<8 hex>.partial`` (see :class:`TempNames`), on the same file
  system so that the final rename is atomic, and held by an exclusive ``flock`` on an open
  descriptor of it. A writer that dies loses the lock with its descriptors; :func:`sweep`
  deletes exactly the temporaries nobody holds, whatever their age, and every
  :class:`Staged` sweeps its directory (the leftovers of every target there) before it
  starts. ``mar env prune`` sweeps the caches too.
* **Published by one step**: a ``linkat`` (an unnamed file that may not replace
  anything), or one rename (:func:`~mar_tools.core.placement.rename_into_place`).

Errors are the operating system's: ``OSError`` and its subclasses (``FileExistsError`` when
the target exists and may not be replaced). Callers turn them into their own messages.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

from mar_tools.core.placement import (
    create_unnamed,
    link_unnamed,
    remove,
    rename_into_place,
)
from mar_tools.core.record import record

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: open files cannot be deleted anyway
    fcntl = None  # type: ignore[assignment]

__all__ = ["MAR_TEMPS", "NAME_BYTES", "SUFFIX", "Staged", "TempNames", "rename_into_place", "sweep"]

#: Longest part of the target's name kept in a temporary's name (bytes), so that the whole
#: temporary name stays within the usual 255-byte limit.
NAME_BYTES: Final = 200
SUFFIX: Final = ".partial"
_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)


@record
class TempNames:
    """How the temporaries of one program are named: ``.<target>.<tag>-<hex>.partial``.

    *tag* tells whose they are (``tma`` for the archiver, ``mar`` for ``mar``), so a sweep
    only ever deletes its own program's leftovers.
    """

    tag: str

    def prefix(self, target: Path) -> str:
        """How the names of *target*'s temporaries start."""
        name = target.name
        while len(os.fsencode(name)) > NAME_BYTES:
            name = name[:-1]
        return f".{name}.{self.tag}-"

    def fresh(self, target: Path) -> Path:
        """A new temporary name beside *target* (random, so no two writers share one)."""
        return target.with_name(f"{self.prefix(target)}{os.urandom(4).hex()}{SUFFIX}")

    def matches(self, name: str) -> bool:
        """True when *name* is one of these temporaries, of any target."""
        return name.startswith(".") and f".{self.tag}-" in name and name.endswith(SUFFIX)


#: The temporaries of ``mar`` (its outputs and caches).
MAR_TEMPS: Final = TempNames("mar")


class Staged:
    """A context manager giving a fresh temporary beside *target* to write into.

    On entry it sweeps the leftovers of dead writers in *target*'s directory, then creates
    the temporary (an empty file, unnamed where possible, or an empty directory with
    *is_dir*: :attr:`path`) and locks it. Write a file through :meth:`open`, a directory
    under :attr:`path`. :meth:`publish` moves it to *target*. On exit without a publish, the
    temporary is removed. Raises ``OSError`` when the temporary cannot be created
    (``FileNotFoundError`` when the directory does not exist).
    """

    def __init__(self, target: Path, *, is_dir: bool, names: TempNames = MAR_TEMPS) -> None:
        self.target = target
        self.is_dir = is_dir
        self.names = names
        self._path: Path | None = None
        self._fd = -1
        self._published = False

    @property
    def path(self) -> Path:
        """The staged directory (or named file). An unnamed file has none: write it through
        :meth:`open` (``ValueError`` here)."""
        if self._path is None:
            raise ValueError(f"the file staged for {self.target} has no name until published")
        return self._path

    @property
    def unnamed(self) -> bool:
        """True while the staged file has no name (``O_TMPFILE``)."""
        return self._fd >= 0 and self._path is None

    def __enter__(self) -> Staged:
        sweep(self.target.parent, self.names)
        if not self.is_dir:
            fd = create_unnamed(self.target.parent)
            if fd is not None:
                _lock(fd, wait=True)  # held through the named moment of a replacing publish
                self._fd = fd
                return self
        while True:
            path = self.names.fresh(self.target)
            fd = _create(path, self.is_dir)
            if fd is None:
                continue
            # Where locks are not supported (some network file systems) we go on unlocked:
            # a concurrent writer of the same target may then remove our temporary, which
            # makes this one fail cleanly at publish time, never publish a partial file.
            _lock(fd, wait=True)
            if _same_file(path, fd):
                self._path, self._fd = path, fd
                return self
            os.close(fd)  # removed by a sweep between creation and locking: try again

    def open(self) -> BinaryIO:
        """The staged file, open for reading and writing at offset 0.

        The file is new and empty and is not truncated: truncating it would make ext4 flush
        it to disk on close (its replace-via-truncate heuristic), which costs a big archive
        seconds.
        """
        if self.is_dir:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(self._path))
        return os.fdopen(os.dup(self._fd), "r+b")

    def publish(self, *, replace: bool, target: Path | None = None) -> None:
        """Move the finished temporary to the target (or to *target*, a name in the same
        directory chosen only now: the extraction cache learns its name from the content).

        Without *replace*, raises ``FileExistsError`` when the target exists (also when it
        appeared during the write). With it, an existing target is replaced in one step; an
        old directory is deleted afterwards.
        """
        if target is not None:
            self.target = target
        if self.unnamed:
            if not replace:
                link_unnamed(self._fd, self.target)
                self._published = True
                return
            # A name first (still locked by our descriptor), then one rename over the target.
            self._path = self.names.fresh(self.target)
            link_unnamed(self._fd, self._path)
        old = rename_into_place(
            self.path, self.target, replace=replace, aside=self.names.fresh(self.target)
        )
        self._published = True
        if old is not None:
            remove(old)  # the old target, now under our temporary name

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if not self._published and self._path is not None:
                remove(self._path)
        finally:
            if self._fd >= 0:
                os.close(self._fd)  # an unnamed file that was never linked is gone now
                self._fd = -1


def sweep(
    directory: Path, names: TempNames, *, target: Path | None = None, dry_run: bool = False
) -> list[Path]:
    """Delete the temporaries named by *names* in *directory* (only *target*'s, when given)
    that no live process holds; return what was deleted (with *dry_run*, what would be,
    deleting nothing). Never raises."""
    if target is None:
        wanted = names.matches
    else:
        prefix = names.prefix(target)

        def wanted(name: str) -> bool:
            return name.startswith(prefix) and name.endswith(SUFFIX)

    removed: list[Path] = []
    try:
        found = [entry.name for entry in os.scandir(directory) if wanted(entry.name)]
    except OSError:
        return removed
    for name in found:
        path = directory / name
        try:
            fd = os.open(path, os.O_RDONLY | _CLOEXEC)
        except OSError:
            continue
        try:
            if _lock(fd, wait=False):
                if not dry_run:
                    remove(path)
                removed.append(path)
        except OSError:
            continue  # in use where files cannot be locked but cannot be deleted either
        finally:
            os.close(fd)
    return removed


def _create(path: Path, is_dir: bool) -> int | None:
    """Create the temporary *path* and open it; None when a directory was removed by
    another writer's sweep between its creation and its opening (not locked yet, it looked
    abandoned): the caller tries another name."""
    if is_dir:
        path.mkdir(mode=0o777)
        try:
            return os.open(path, os.O_RDONLY | _CLOEXEC | getattr(os, "O_DIRECTORY", 0))
        except FileNotFoundError:
            return None
    return os.open(path, os.O_RDWR | _CLOEXEC | os.O_CREAT | os.O_EXCL, 0o666)


def _lock(fd: int, *, wait: bool) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def _same_file(path: Path, fd: int) -> bool:
    try:
        here, held = path.lstat(), os.fstat(fd)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)
