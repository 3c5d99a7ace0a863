"""The filesystem steps that put a finished file or directory in place, each atomic.

* :func:`rename_into_place`: one rename, ``renameat2(RENAME_NOREPLACE)`` when nothing may
  be replaced (a target that appeared meanwhile is not overwritten), ``os.replace`` for a
  file, ``renameat2(RENAME_EXCHANGE)`` for a directory (whose old content the caller then
  deletes).
* :func:`create_unnamed` and :func:`link_unnamed`: a file made with ``O_TMPFILE`` has no
  name until ``linkat`` gives it one, so a writer killed before that (even by ``kill -9``)
  leaves nothing at all behind. Linux only; elsewhere (and on file systems without it)
  :func:`create_unnamed` returns None and the caller stages a named, locked temporary.
* :func:`remove`: a file, a link or a whole tree.

Errors are the operating system's (``OSError`` and its subclasses).
"""

# Why: os.rename/os.replace and the renameat2 call are the atomic primitives used on purpose.
# ruff: noqa: PTH104, PTH105

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_TMPFILE: Final = getattr(os, "O_TMPFILE", 0)
#: Where a process finds its own descriptors by name (what ``linkat`` needs).
_OWN_FDS: Final = Path("/proc/self/fd")


def create_unnamed(directory: Path) -> int | None:
    """A new, empty, unnamed file in *directory* open for reading and writing (mode 0o666
    less the umask), or None where the system or the file system has no ``O_TMPFILE``.
    Raises ``OSError`` for other failures (``FileNotFoundError``: no such directory)."""
    if not _TMPFILE or not _OWN_FDS.is_dir():
        return None
    try:
        return os.open(directory, _TMPFILE | os.O_RDWR | _CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOSYS):
            return None  # the kernel or the file system does not support it
        raise


def link_unnamed(fd: int, target: Path) -> None:
    """Give the unnamed file open as *fd* the name *target* (``FileExistsError`` when that
    exists: nothing is replaced)."""
    # os.link calls linkat(AT_SYMLINK_FOLLOW) only when given a directory descriptor; plain
    # link() would try to link /proc's magic link itself (EXDEV).
    own = os.open(_OWN_FDS, os.O_RDONLY | _CLOEXEC | getattr(os, "O_DIRECTORY", 0))
    try:
        os.link(str(fd), target, src_dir_fd=own, follow_symlinks=True)
    finally:
        os.close(own)


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
    if not is_dir(source) or not os.path.lexists(target):
        os.replace(source, target)
        return None
    if not _rename2(source, target, _RENAME_EXCHANGE):
        os.rename(target, aside)
        os.rename(source, target)
        os.rename(aside, source)
    return source


def remove(path: Path) -> None:
    """Delete the file, link or directory tree *path*; nothing when it does not exist.

    A tree is deleted whole even when entries vanish while it is walked (a process still
    finishing in it renames or deletes its own files): those are skipped, not fatal, and
    the walk is repeated a few times for entries that appeared meanwhile.
    """
    if not is_dir(path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    import shutil  # here: most writes never delete a tree

    def vanished(_function: object, _name: str, error: BaseException) -> None:
        if not isinstance(error, FileNotFoundError):
            raise error

    for _ in range(3):
        with contextlib.suppress(FileNotFoundError):
            if sys.version_info >= (3, 12):
                shutil.rmtree(path, onexc=vanished)
            else:
                shutil.rmtree(path, onerror=lambda f, n, info: vanished(f, n, info[1]))
        if not os.path.lexists(path):
            return


def is_dir(path: Path) -> bool:
    """True for a directory that is not a link to one."""
    return path.is_dir() and not path.is_symlink()


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
