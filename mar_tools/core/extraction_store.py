"""The extractions in the cache, as ``mar cache`` sees them: listed with their size and last
use, removed only when no process uses them.

An extraction's last use is the modification time of its use lock (set by every process
that gets it from the cache, :func:`~mar_tools.core.extraction.prepare_model_dir`), or of
its directory when no process has used it since it was made by an older version. Removing
one takes its use lock exclusively without waiting (:func:`~mar_tools.core.use_lock.
exclusive`): an extraction that a running ``mar run``, ``mar serve`` or ``mar env create``
holds is skipped. It is renamed to a ``mar`` temporary first (one atomic step), then
deleted: a removal killed half-way leaves a temporary that the next run sweeps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mar_tools.core.archive.archive_hash import ALGORITHMS, parse_name
from mar_tools.core.errors import ManifestError
from mar_tools.core.extraction import cache_root, use_lock_path
from mar_tools.core.manifest import MANIFEST_PATH, Manifest
from mar_tools.core.placement import remove
from mar_tools.core.sizes import tree_size
from mar_tools.core.staging import MAR_TEMPS, sweep
from mar_tools.core.use_lock import exclusive, is_used, last_touched

_PREFIXES = tuple(f"{algorithm}-" for algorithm in ALGORITHMS)


@dataclass(frozen=True)
class StoredExtraction:
    """One extraction in the cache: its directory and the model it holds."""

    path: Path
    #: The use lock (see the module docstring).
    lock: Path
    #: The manifest's model name, "" when it cannot be read.
    model: str

    @property
    def name(self) -> str:
        """``<algorithm>-<digest>`` (``blake3-`` or ``sha256-``): the digest of the archive
        bytes it was extracted from."""
        return self.path.name

    def last_used(self) -> float:
        """Seconds since the epoch of its last use."""
        touched = last_touched(self.lock)
        if touched is not None:
            return touched
        try:
            return self.path.stat().st_mtime
        except OSError:
            return 0.0

    def size(self) -> int:
        """Bytes on disk."""
        return tree_size(self.path)

    def in_use(self) -> bool:
        """True when a running process holds it."""
        return is_used(self.lock)


def extractions(cache: Path) -> list[StoredExtraction]:
    """Every finished extraction in cache directory *cache*, most recently used first."""
    root = cache_root(cache)
    try:
        names = sorted(entry.name for entry in os.scandir(root) if _is_extraction(entry))
    except OSError:
        return []
    found = [
        StoredExtraction(root / name, use_lock_path(cache, name), _model_name(root / name))
        for name in names
    ]
    return sorted(found, key=lambda item: item.last_used(), reverse=True)


def remove_extraction(extraction: StoredExtraction) -> bool:
    """Remove *extraction* unless a process uses it; True when it is gone (also when
    another process removed it first), False when it is in use."""
    with exclusive(extraction.lock, remove=True) as free:
        if not free:
            return False
        aside = MAR_TEMPS.fresh(extraction.path)
        try:
            extraction.path.rename(aside)
        except FileNotFoundError:
            return True
    remove(aside)
    return True


def sweep_index(cache: Path) -> list[Path]:
    """Delete the index entries of cache directory *cache* that name no extraction, and
    the use locks of extractions that are gone and unused; return what was deleted."""
    root = cache_root(cache)
    deleted: list[Path] = []
    for entry in _files(root / "index"):
        name = _read_name(entry)
        if name is None or not (root / name).is_dir():
            entry.unlink(missing_ok=True)
            deleted.append(entry)
    for lock in _files(root / "use"):
        if (root / lock.name).is_dir():
            continue
        with exclusive(lock, remove=True) as free:
            if free:
                deleted.append(lock)
    return deleted


def sweep_temporaries(cache: Path, *, dry_run: bool = False) -> list[Path]:
    """Delete what killed extractions and removals left in cache directory *cache*; return
    what was deleted (with *dry_run*, what would be, deleting nothing)."""
    return sweep(cache_root(cache), MAR_TEMPS, dry_run=dry_run)


def _is_extraction(entry: os.DirEntry[str]) -> bool:
    return entry.name.startswith(_PREFIXES) and entry.is_dir(follow_symlinks=False)


def _files(directory: Path) -> list[Path]:
    try:
        return sorted(directory / entry.name for entry in os.scandir(directory) if entry.is_file())
    except OSError:
        return []


def _read_name(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return parse_name(text)


def _model_name(directory: Path) -> str:
    try:
        return Manifest.parse((directory / MANIFEST_PATH).read_bytes()).model.model_name or ""
    except (OSError, ManifestError):
        return ""
