"""Publishing a file or directory in one step: staged beside its target, renamed into place.

Every writer of mar-tools (the archiver's output, ``mar run --output``, ``mar validate
--output``, the extraction cache, the environment store) goes through this module, so a
reader sees either the old target or the complete new one, never a partial one.

* **Staged beside the target.** :class:`Staged` creates a temporary file or directory in the
  target's directory (same file system, so the final rename is atomic) under a fresh name,
  ``.<target name>.<tag>-<8 hex>.partial`` (see :class:`TempNames`); no name is ever fixed,
  so two writers of one target never share a temporary.
* **Held under a lock.** While it exists the temporary is held by an exclusive ``flock`` on
  an open descriptor of it. A writer that dies, even by ``kill -9``, loses the lock with its
  descriptors; :func:`sweep` deletes exactly the temporaries nobody holds, whatever their
  age, and every :class:`Staged` sweeps its target's before it starts.
* **Published by one rename** (:func:`rename_into_place`): ``renameat2(RENAME_NOREPLACE)``
  when nothing may be replaced (a target that appeared meanwhile is not overwritten),
  ``os.replace`` for a file, and ``renameat2(RENAME_EXCHANGE)`` for a directory, whose old
  content is then deleted under the temporary name.

Errors are the operating system's: ``OSError`` and its subclasses (``FileExistsError`` when
the target exists and may not be replaced). Callers turn them into their own messages.

Room left for hardening: a file could be staged as an unnamed ``O_TMPFILE`` and linked into
place with ``linkat``; callers that write through :meth:`Staged.open` rather than
:attr:`Staged.path` would not notice.
"""

# Why: os.rename/os.replace and the renameat2 call are the atomic primitives used on purpose.
# ruff: noqa: PTH104, PTH105

from __future__ import annotations

import contextlib
import errno
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: open files cannot be deleted anyway
    fcntl = None  # type: ignore[assignment]

#: Longest part of the target's name kept in a temporary's name (bytes), so that the whole
#: temporary name stays within the usual 255-byte limit.
NAME_BYTES: Final = 200
SUFFIX: Final = ".partial"
_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
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
    """A context manager giving a fresh temporary :attr:`path` beside *target* to write into.

    On entry it sweeps *target*'s leftovers, then creates the temporary (an empty file, or
    an empty directory with *is_dir*) and locks it. :meth:`publish` moves it to *target*. On
    exit without a publish, the temporary is removed. Raises ``OSError`` when the temporary
    cannot be created (``FileNotFoundError`` when the directory does not exist).
    """

    def __init__(self, target: Path, *, is_dir: bool, names: TempNames = MAR_TEMPS) -> None:
        self.target = target
        self.is_dir = is_dir
        self.names = names
        self.path = target
        self._fd = -1
        self._published = False

    def __enter__(self) -> Staged:
        sweep(self.target.parent, self.names, target=self.target)
        while True:
            path = self.names.fresh(self.target)
            fd = _create(path, self.is_dir)
            # Where locks are not supported (some network file systems) we go on unlocked:
            # a concurrent writer of the same target may then remove our temporary, which
            # makes this one fail cleanly at publish time, never publish a partial file.
            _lock(fd, wait=True)
            if _same_file(path, fd):
                self.path, self._fd = path, fd
                return self
            os.close(fd)  # removed by a sweep between creation and locking: try again

    def open(self) -> BinaryIO:
        """The staged file, open for reading and writing at offset 0.

        The file is new and empty and is not truncated: truncating it would make ext4 flush
        it to disk on close (its replace-via-truncate heuristic), which costs a big archive
        seconds.
        """
        if self.is_dir:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(self.path))
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
            if not self._published:
                remove(self.path)
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def sweep(directory: Path, names: TempNames, *, target: Path | None = None) -> list[Path]:
    """Delete the temporaries named by *names* in *directory* (only *target*'s, when given)
    that no live process holds; return what was deleted. Never raises."""
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
                remove(path)
                removed.append(path)
        except OSError:
            continue  # in use where files cannot be locked but cannot be deleted either
        finally:
            os.close(fd)
    return removed


def rename_into_place(source: Path, target: Path, *, replace: bool, aside: Path) -> Path | None:
    """Rename *source* to *target* in one step; return where an old directory went, if any.

    Without *replace*, raises ``FileExistsError`` when *target* exists. With it, a file
    replaces a file (``os.replace``; never a directory: ``IsADirectoryError``); a directory
    is exchanged with an existing target (``RENAME_EXCHANGE``) and *source*, now holding the
    old target, is returned for the caller to delete. Where the kernel cannot exchange,
    three renames do it through *aside* (a short moment without a target, never a mixed
    one).
    """
    if not replace:
        if not _rename2(source, target, _RENAME_NOREPLACE):
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
            os.rename(source, target)
        return None
    if not _is_dir(source) or not os.path.lexists(target):
        os.replace(source, target)
        return None
    if not _rename2(source, target, _RENAME_EXCHANGE):
        os.rename(target, aside)
        os.rename(source, target)
        os.rename(aside, source)
    return source


def remove(path: Path) -> None:
    """Delete the file, link or directory tree *path*; nothing when it does not exist."""
    with contextlib.suppress(FileNotFoundError):
        if _is_dir(path):
            import shutil  # here: most writes never delete a tree

            shutil.rmtree(path)
        else:
            path.unlink()


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _create(path: Path, is_dir: bool) -> int:
    if is_dir:
        path.mkdir(mode=0o777)
        return os.open(path, os.O_RDONLY | _CLOEXEC | getattr(os, "O_DIRECTORY", 0))
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


_RENAME_NOREPLACE: Final = 1
_RENAME_EXCHANGE: Final = 2


def _rename2(source: Path, target: Path, flag: int) -> bool:
    """``renameat2`` with *flag*; False when this system lacks it (the caller falls back).

    Raises ``FileExistsError`` (NOREPLACE and *target* exists) or the ``OSError`` of any
    other failure.
    """
    function = _renameat2()
    if function is None:
        return False
    import ctypes  # already loaded by _renameat2

    at_fdcwd = -100
    result = function(at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target), flag)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(target))


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """The C library's ``renameat2``, or None where it has none (macOS, old glibc)."""
    import ctypes  # here: most runs of mar never publish anything

    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    return function
