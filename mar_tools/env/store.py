"""The on-disk cache of environments: one directory per key, published atomically.

Layout under the cache root (``$MAR_CACHE_DIR/envs`` or the user cache dir)::

    <short key>/             a finished environment (bin/, lib/, mar-env.json)
    .build-<short>-<random>/ an environment being built, or the one it replaced being deleted
    .trash-<short>-<random>/ an environment being removed
    .locks/<short>.lock      held while building or removing <short key>
    .locks/<short>.use       held (shared) by every process running a model in it
    .logs/<short>.log        the installer output of the last failed build

A directory under its final name is complete by construction: builds happen under a
temporary name, the record is written last, and one ``rename`` publishes the result.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from mar_tools.core.placement import rename_into_place
from mar_tools.core.reporter import Reporter
from mar_tools.core.sizes import tree_size
from mar_tools.core.use_lock import is_used
from mar_tools.env.lock import held, hold_shared, is_free
from mar_tools.env.venv_files import RECORD_NAME, EnvRecord, VenvLayout, read_record, relocate

__all__ = ["BUILD_PREFIX", "TRASH_PREFIX", "EnvStore", "StoredEnv", "age_days", "tree_size"]

BUILD_PREFIX = ".build-"
TRASH_PREFIX = ".trash-"


@dataclass(frozen=True)
class StoredEnv:
    """A finished environment in the store."""

    path: Path
    record: EnvRecord

    @property
    def layout(self) -> VenvLayout:
        return VenvLayout.standard(self.path)

    @property
    def short(self) -> str:
        return self.path.name

    def last_used(self) -> float:
        """Seconds since the epoch of the last run that used it (the record's mtime)."""
        return (self.path / RECORD_NAME).stat().st_mtime

    def size(self) -> int:
        """Bytes on disk, symlinks counted as links (inherited packages are not counted)."""
        return tree_size(self.path)


class EnvStore:
    """The environments under one cache directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, short: str) -> Path:
        """Where the environment with key prefix *short* lives (whether or not it exists)."""
        return self.root / short

    def get(self, short: str) -> StoredEnv | None:
        """The finished environment for *short*, or None."""
        path = self.path(short)
        record = read_record(path)
        return None if record is None else StoredEnv(path, record)

    def lock(self, short: str, what: str, reporter: Reporter) -> AbstractContextManager[None]:
        """The lock held while *short* is built or removed."""
        return held(self.lock_path(short), what, reporter)

    def lock_path(self, short: str) -> Path:
        """The build lock of *short* (see :meth:`lock`)."""
        return self.root / ".locks" / f"{short}.lock"

    def use_path(self, short: str) -> Path:
        """The use lock of *short*, held shared by the processes that run in it."""
        return self.root / ".locks" / f"{short}.use"

    def is_used(self, env: StoredEnv) -> bool:
        """True when a process runs a model in *env* or builds it right now (never waits)."""
        return is_used(self.use_path(env.short)) or not is_free(self.lock_path(env.short))

    def claim(self, short: str) -> StoredEnv | None:
        """The finished environment for *short*, marked in use by this process until it
        exits and its use recorded (see :meth:`touch`); None when there is none."""
        if not (self.path(short) / RECORD_NAME).is_file():
            return None
        hold_shared(self.use_path(short))
        found = self.get(short)  # None when a prune removed it while we waited for the lock
        if found is not None:
            self.touch(found)
        return found

    @property
    def logs(self) -> Path:
        """The directory of failed builds' installer output."""
        return self.root / ".logs"

    def log_path(self, short: str) -> Path:
        """Where the output of a failed build of *short* is kept."""
        return self.logs / f"{short}.log"

    def touch(self, env: StoredEnv) -> None:
        """Record that *env* was used now (for ``mar env list`` and ``prune``)."""
        # A read-only cache still works; only the last-used time goes stale.
        with contextlib.suppress(OSError):
            os.utime(env.path / RECORD_NAME)

    def new_build_dir(self, short: str) -> Path:
        """A fresh, empty temporary directory to build *short* in (caller holds the lock)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(f"{BUILD_PREFIX}{short}-*"):
            # Left by a build that died; we hold the lock, so nobody is using it.
            shutil.rmtree(stale, ignore_errors=True)
        build = self.root / f"{BUILD_PREFIX}{short}-{os.urandom(4).hex()}"
        build.mkdir()
        return build

    def publish(self, build: Path, short: str) -> StoredEnv:
        """Move finished *build* to its final name, replacing an older environment.

        The caller holds the lock and has written the record into *build*.
        """
        final = self.path(short)
        relocate(build, final, VenvLayout.standard(build).scripts)
        # One step: a run looking for *short* finds the old environment or the new one.
        old = rename_into_place(build, final, replace=True, aside=self._trash_name(short))
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)  # a leftover under .build-* if we die here
        stored = self.get(short)
        if stored is None:
            raise RuntimeError(f"{final} has no record after publishing")
        return stored

    def discard(self, path: Path) -> None:
        """Remove environment directory *path*: first renamed away (atomic), then deleted."""
        shutil.rmtree(self.retire(path), ignore_errors=True)

    def retire(self, path: Path) -> Path:
        """Rename environment directory *path* out of the way (atomic); return the new
        name, a leftover for :meth:`leftovers` until the caller deletes it."""
        trash = self._trash_name(path.name)
        path.rename(trash)
        return trash

    def _trash_name(self, name: str) -> Path:
        return self.root / f"{TRASH_PREFIX}{name}-{os.urandom(4).hex()}"

    def environments(self) -> list[StoredEnv]:
        """Every finished environment, most recently used first."""
        found = [env for env in map(self.get, self._names()) if env is not None]
        return sorted(found, key=lambda env: env.last_used(), reverse=True)

    def leftovers(self) -> list[Path]:
        """Directories that are not finished environments and that no process is using:
        abandoned builds, interrupted removals, directories without a valid record."""
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.iterdir()):
            if not path.is_dir() or path.name in (".locks", ".logs"):
                continue
            if path.name.startswith(TRASH_PREFIX):
                found.append(path)
            elif path.name.startswith(BUILD_PREFIX):
                short = path.name[len(BUILD_PREFIX) :].rsplit("-", 1)[0]
                if is_free(self.lock_path(short)):
                    found.append(path)
            elif read_record(path) is None and is_free(self.lock_path(path.name)):
                found.append(path)
        return found

    def _names(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.iterdir()):
            if path.is_dir() and not path.name.startswith("."):
                yield path.name


def age_days(timestamp: float, now: float | None = None) -> float:
    """Days between *timestamp* and *now* (default: the current time)."""
    return ((time.time() if now is None else now) - timestamp) / 86400
