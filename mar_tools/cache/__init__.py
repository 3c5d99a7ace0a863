"""The whole mar cache as one thing (``mar cache``): the extracted archives of
:mod:`mar_tools.core.extraction` and the per-model environments of :mod:`mar_tools.env`,
listed, measured and pruned least recently used first.

* :mod:`.entries`: :func:`cache_entries`, every entry with its size and last use.
* :mod:`.pruning`: :func:`prune_cache` (``--older-than``, ``--max-size``, everything),
  never removing an entry a running command uses, with a dry run that removes nothing.

Stands above ``env`` and the core, beside ``serve``; prints nothing.
"""

from __future__ import annotations

from mar_tools.cache.entries import CacheEntry, EntryKind, cache_entries
from mar_tools.cache.pruning import PruneResult, prune_cache

__all__ = ["CacheEntry", "EntryKind", "PruneResult", "cache_entries", "prune_cache"]
