"""What the cache holds: one :class:`CacheEntry` per extracted archive and per environment."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from mar_tools.core.cache import cache_root, cache_subdir
from mar_tools.core.extraction_store import StoredExtraction, extractions
from mar_tools.env.store import EnvStore, StoredEnv

#: The two kinds of entries: an extracted archive, a per-model environment.
EntryKind: TypeAlias = Literal["archive", "environment"]


@dataclass(frozen=True)
class CacheEntry:
    """One entry of the cache, measured when it was listed."""

    kind: EntryKind
    #: ``sha256-<digest>`` for an archive, the short key for an environment.
    name: str
    path: Path
    #: The model's name ("" when unknown).
    model: str
    #: Bytes on disk.
    size: int
    #: Seconds since the epoch of the last command that used it.
    last_used: float
    #: True when a running command used it when it was listed (prune skips it).
    in_use: bool
    #: What removes it (the store's own object).
    source: StoredExtraction | StoredEnv

    def to_dict(self) -> dict[str, object]:
        """The entry for ``--json`` (times in UTC, ISO 8601)."""
        return {
            "kind": self.kind,
            "name": self.name,
            "path": str(self.path),
            "model": self.model,
            "size": self.size,
            "last_used": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_used)),
            "in_use": self.in_use,
        }


@dataclass(frozen=True)
class CacheAreas:
    """Where the two kinds of entries live under one cache directory."""

    root: Path
    extracted: Path
    envs: EnvStore

    @classmethod
    def of(cls, cache_dir: Path | None) -> CacheAreas:
        """The areas of *cache_dir* (None: ``$MAR_CACHE_DIR`` or the user cache dir)."""
        return cls(
            cache_root(cache_dir),
            cache_subdir("extracted", cache_dir),
            EnvStore(cache_subdir("envs", cache_dir)),
        )


def cache_entries(cache_dir: Path | None = None) -> list[CacheEntry]:
    """Every entry under *cache_dir*, most recently used first."""
    areas = CacheAreas.of(cache_dir)
    found = [
        CacheEntry(
            "archive",
            item.name,
            item.path,
            item.model,
            item.size(),
            item.last_used(),
            item.in_use(),
            item,
        )
        for item in extractions(areas.extracted)
    ]
    found += [
        CacheEntry(
            "environment",
            env.short,
            env.path,
            env.record.model,
            env.size(),
            env.last_used(),
            areas.envs.is_used(env),
            env,
        )
        for env in areas.envs.environments()
    ]
    return sorted(found, key=lambda entry: entry.last_used, reverse=True)
