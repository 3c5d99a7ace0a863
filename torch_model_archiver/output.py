"""Where a build writes: a temporary file or directory beside the target, renamed on success.

The temporary name is ``.<target-name>.tma-<random>.partial`` (hidden, clearly ours). While a
build runs it holds an exclusive ``flock`` on it; a build that dies (even by ``kill -9``)
loses the lock, and the next build of the same target deletes the leftover. Publishing is
one rename: ``os.replace`` for files; for directories an atomic exchange
(``renameat2(RENAME_EXCHANGE)``) where the kernel has it. Without ``force`` the rename
refuses to replace anything (``RENAME_NOREPLACE``), so a target that appeared during the
build is not overwritten either.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path
from types import TracebackType
from typing import Final

from torch_model_archiver.errors import OutputExistsError

TEMP_MARK: Final = ".tma-"
PARTIAL: Final = ".partial"
FORCE_HINT: Final = "pass -f/--force to replace it (only on success)."

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: open files cannot be deleted anyway
    fcntl = None  # type: ignore[assignment]


def output_exists(target: Path) -> OutputExistsError:
    return OutputExistsError(f"{target} already exists.", hint=FORCE_HINT)


def output_problems(target: Path, is_dir: bool, force: bool) -> tuple[list[str], bool]:
    """Problems with writing *target*, and whether it exists (refused without *force*)."""
    problems: list[str] = []
    export = target.parent
    if export.exists() and not export.is_dir():
        problems.append(f"--export-path {export} is not a directory")
        return problems, False
    if not os.path.lexists(target):
        return problems, False
    if force and target.is_dir() and not is_dir:
        problems.append(f"{target} is a directory; remove it to write an archive there")
    return problems, not force


class StagedOutput:
    """A context manager giving a fresh temporary ``path`` beside *target* to write into.

    On exit without :meth:`publish`, the temporary file or directory is removed.
    """

    def __init__(self, target: Path, *, is_dir: bool) -> None:
        self.target = target
        self.is_dir = is_dir
        self.path = target
        self._lock_fd = -1
        self._published = False

    def __enter__(self) -> StagedOutput:
        remove_stale(self.target)
        while True:
            path = _temporary_name(self.target)
            fd = _create(path, self.is_dir)
            # Where locks are not supported (some network file systems) we go on unlocked:
            # a concurrent build of the same target may then remove our temporary, which
            # makes this build fail cleanly at publish time, never publish a partial file.
            _lock(fd, wait=True)
            if _same_file(path, fd):
                self.path, self._lock_fd = path, fd
                return self
            os.close(fd)  # removed by a cleaner between creation and locking: try again

    def publish(self, force: bool) -> None:
        """Move the finished output to the target (replacing it only with *force*)."""
        if force and self.is_dir and os.path.lexists(self.target):
            if not _rename2(self.path, self.target, _RENAME_EXCHANGE):
                _swap_by_two_renames(self.path, self.target)
            self._published = True
            _remove(self.path)  # the old output, now under our temporary name
            return
        if force and not self.is_dir:
            self.path.replace(self.target)
        elif not _rename2(self.path, self.target, _RENAME_NOREPLACE):
            if os.path.lexists(self.target):
                raise output_exists(self.target)
            self.path.rename(self.target)
        self._published = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if not self._published:
                _remove(self.path)
        finally:
            if self._lock_fd >= 0:
                os.close(self._lock_fd)


def remove_stale(target: Path) -> list[Path]:
    """Delete leftovers of dead builds of *target* (unlocked temporaries); return them."""
    prefix = temporary_prefix(target)
    removed: list[Path] = []
    try:
        names = [path.name for path in target.parent.iterdir() if path.name.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        path = target.parent / name
        if not name.endswith(PARTIAL):
            continue
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            if _lock(fd, wait=False):
                _remove(path)
                removed.append(path)
        except OSError:
            continue  # in use where files cannot be locked but cannot be deleted either
        finally:
            os.close(fd)
    return removed


def temporary_prefix(target: Path) -> str:
    """How the names of *target*'s temporaries start (the name is cut so that the whole
    temporary name stays within the usual 255-byte limit)."""
    return f".{target.name[:200]}{TEMP_MARK}"


def _temporary_name(target: Path) -> Path:
    return target.with_name(f"{temporary_prefix(target)}{secrets.token_hex(4)}{PARTIAL}")


def _create(path: Path, is_dir: bool) -> int:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    if is_dir:
        path.mkdir(mode=0o777)
        return os.open(path, flags | getattr(os, "O_DIRECTORY", 0))
    return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o666)


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


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _swap_by_two_renames(new: Path, target: Path) -> None:
    """Exchange without kernel help: a short moment with no target, never a mixed one."""
    # Named like a leftover of a dead build, so an interrupted swap is cleaned up later.
    aside = _temporary_name(target)
    target.rename(aside)
    new.rename(target)
    aside.rename(new)


_RENAME_NOREPLACE: Final = 1
_RENAME_EXCHANGE: Final = 2


def _rename2(source: Path, target: Path, flag: int) -> bool:
    """``renameat2`` with *flag*; False when this system lacks it (then the caller falls back).

    Raises ``FileExistsError`` turned into :class:`OutputExistsError` for NOREPLACE.
    """
    try:
        import ctypes

        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = function(at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target), flag)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    if code == errno.EEXIST:
        raise output_exists(target)
    raise OSError(code, os.strerror(code), str(target))
