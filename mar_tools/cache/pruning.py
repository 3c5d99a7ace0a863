"""Pruning the cache least recently used first (``mar cache prune`` and ``clean``).

What goes: every entry with *everything*; else the entries unused for more than
``older_than_days``, and then, oldest last use first, as many more as it takes for the
entries that stay to fit in ``max_size`` bytes. An entry a running command uses (a ``mar
run``, ``mar serve`` or ``mar env create`` holding its use lock, a build holding an
environment's build lock) is never removed: it is reported busy, still counts against
``max_size``, and the next least recently used entry goes instead. The leftovers of killed
commands (half-made extractions and environments, index entries naming nothing) go too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mar_tools.cache.entries import CacheAreas, CacheEntry, cache_entries
from mar_tools.core.extraction_store import (
    StoredExtraction,
    remove_extraction,
    sweep_index,
    sweep_temporaries,
)
from mar_tools.env.pruning import remove_environment
from mar_tools.env.store import StoredEnv

_DAY = 86400.0


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed (or, in a dry run, would remove) and what it had to keep."""

    removed: tuple[CacheEntry, ...]
    #: Entries that were chosen but are in use by a running command.
    busy: tuple[CacheEntry, ...]
    #: Leftovers of killed commands (deleted unless a dry run).
    leftovers: tuple[Path, ...]
    #: Bytes in the entries that stay.
    remaining: int
    dry_run: bool

    @property
    def freed(self) -> int:
        """Bytes in the removed entries."""
        return sum(entry.size for entry in self.removed)


def choose(
    entries: Sequence[CacheEntry],
    *,
    older_than_days: float | None = None,
    max_size: int | None = None,
    everything: bool = False,
    now: float | None = None,
) -> list[CacheEntry]:
    """The entries to remove, least recently used first (see the module docstring); the
    busy ones among them are the caller's to skip. A busy entry that would have made room
    is chosen (to be reported) but does not count as room made: the next least recently
    used goes too."""
    oldest_first = sorted(entries, key=lambda entry: entry.last_used)
    if everything:
        return oldest_first
    moment = time.time() if now is None else now
    chosen = [
        entry
        for entry in oldest_first
        if older_than_days is not None and moment - entry.last_used > older_than_days * _DAY
    ]
    if max_size is not None:
        kept = sum(entry.size for entry in oldest_first if entry not in chosen)
        for entry in oldest_first:
            if kept <= max_size:
                break
            if entry in chosen:
                continue
            chosen.append(entry)
            if not entry.in_use:
                kept -= entry.size
    return sorted(chosen, key=lambda entry: entry.last_used)


def prune_cache(
    cache_dir: Path | None = None,
    *,
    older_than_days: float | None = None,
    max_size: int | None = None,
    everything: bool = False,
    dry_run: bool = False,
    now: float | None = None,
) -> PruneResult:
    """Remove the entries :func:`choose` picks from the cache *cache_dir*, and the
    leftovers of killed commands; with *dry_run*, remove nothing and report the same."""
    areas = CacheAreas.of(cache_dir)
    entries = cache_entries(cache_dir)
    chosen = choose(
        entries, older_than_days=older_than_days, max_size=max_size, everything=everything, now=now
    )
    removed: list[CacheEntry] = []
    busy: list[CacheEntry] = []
    for entry in chosen:
        if entry.in_use or not (dry_run or _remove(entry, areas)):
            busy.append(entry)
        else:
            removed.append(entry)
    leftovers = _leftovers(areas, dry_run)
    if everything and not dry_run:
        from mar_tools.core.placement import remove

        remove(areas.envs.logs)  # failed builds' installer output
    remaining = sum(entry.size for entry in entries if entry not in removed)
    return PruneResult(tuple(removed), tuple(busy), tuple(leftovers), remaining, dry_run)


def _remove(entry: CacheEntry, areas: CacheAreas) -> bool:
    if isinstance(entry.source, StoredExtraction):
        return remove_extraction(entry.source)
    assert isinstance(entry.source, StoredEnv)
    return remove_environment(areas.envs, entry.source)


def _leftovers(areas: CacheAreas, dry_run: bool) -> list[Path]:
    found = areas.envs.leftovers()
    if not dry_run:
        from mar_tools.core.placement import remove

        for path in found:
            remove(path)
        sweep_index(areas.extracted)  # what the removals left: not worth a line
    return [*found, *sweep_temporaries(areas.extracted, dry_run=dry_run)]
