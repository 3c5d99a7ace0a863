"""Removing environments nobody uses any more (``mar env prune``, ``mar cache prune``)."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field

from mar_tools.core.errors import EnvironmentSetupError
from mar_tools.core.reporter import SilentReporter
from mar_tools.env.lock import exclusive, held
from mar_tools.env.store import EnvStore, StoredEnv, age_days, tree_size

#: What ``prune`` removes when given neither ``--older-than`` nor ``--all``.
DEFAULT_OLDER_THAN_DAYS = 30.0


@dataclass(frozen=True)
class Removed:
    """One removed environment (or leftover directory, with ``model`` None)."""

    name: str
    model: str | None
    size: int


@dataclass(frozen=True)
class PruneReport:
    removed: list[Removed] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)

    @property
    def freed(self) -> int:
        return sum(item.size for item in self.removed)


def remove_environment(store: EnvStore, env: StoredEnv) -> bool:
    """Remove *env* unless a process is building, removing or running a model in it right
    now; True when it is gone (also when another prune removed it first), False when busy.
    Never waits."""
    trash = None
    try:
        with (
            # Removal never waits, so the reporter hears nothing.
            held(store.lock_path(env.short), "", SilentReporter(), wait=0),
            exclusive(store.use_path(env.short)) as unused,
        ):
            if unused:
                trash = store.retire(env.path)  # only the rename needs the locks
    except EnvironmentSetupError:
        return False  # being rebuilt right now
    except FileNotFoundError:
        return True  # removed by another prune in the meantime
    if trash is None:
        return False
    shutil.rmtree(trash, ignore_errors=True)
    return True


def prune(
    store: EnvStore,
    *,
    older_than_days: float | None = None,
    everything: bool = False,
    now: float | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """Remove environments last used more than *older_than_days* ago (every one with
    *everything*), plus abandoned build directories. Environments another process is
    building, removing or running a model in right now are skipped and reported in
    ``busy``. With *dry_run*, nothing is removed: the report says what would be (busy
    as far as can be told without taking the build lock)."""
    limit = DEFAULT_OLDER_THAN_DAYS if older_than_days is None else older_than_days
    moment = time.time() if now is None else now
    report = PruneReport()
    for leftover in store.leftovers():
        size = tree_size(leftover)
        if not dry_run:
            shutil.rmtree(leftover, ignore_errors=True)
        report.removed.append(Removed(leftover.name, None, size))
    for env in store.environments():
        if not everything and age_days(env.last_used(), moment) <= limit:
            continue
        size = env.size()
        gone = not store.is_used(env) if dry_run else remove_environment(store, env)
        if gone:
            report.removed.append(Removed(env.short, env.record.model, size))
        else:
            report.busy.append(env.short)
    if everything and not dry_run:
        shutil.rmtree(store.logs, ignore_errors=True)  # failed builds' installer output
    return report
