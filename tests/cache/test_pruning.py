"""What ``mar cache prune`` chooses: least recently used first, busy entries never."""

from __future__ import annotations

from pathlib import Path

from mar_tools.cache.entries import CacheEntry
from mar_tools.cache.pruning import choose
from mar_tools.core.extraction_store import StoredExtraction

NOW = 1_800_000_000.0
DAY = 86400.0


def entry(name: str, size: int, days_ago: float, in_use: bool = False) -> CacheEntry:
    path = Path("/cache") / name
    return CacheEntry(
        "archive", name, path, "m", size, NOW - days_ago * DAY, in_use,
        StoredExtraction(path, path.with_suffix(".use"), "m"),
    )  # fmt: skip


A, B, C, D = entry("a", 100, 1), entry("b", 200, 5), entry("c", 300, 10), entry("d", 50, 40)


def names(chosen: list[CacheEntry]) -> list[str]:
    return [item.name for item in chosen]


def test_older_than_chooses_what_was_unused_for_longer() -> None:
    assert names(choose([A, B, C, D], older_than_days=7, now=NOW)) == ["d", "c"]
    assert names(choose([A, B, C, D], older_than_days=0.5, now=NOW)) == ["d", "c", "b", "a"]
    assert choose([A, B], older_than_days=30, now=NOW) == []


def test_max_size_removes_least_recently_used_until_the_rest_fit() -> None:
    # 650 bytes in all: d (50) and c (300) go, leaving 300.
    assert names(choose([A, B, C, D], max_size=300, now=NOW)) == ["d", "c"]
    assert names(choose([A, B, C, D], max_size=299, now=NOW)) == ["d", "c", "b"]
    assert choose([A, B, C, D], max_size=650, now=NOW) == []
    assert names(choose([A, B, C, D], max_size=0, now=NOW)) == ["d", "c", "b", "a"]


def test_a_busy_entry_is_reported_but_makes_no_room() -> None:
    busy = entry("c", 300, 10, in_use=True)
    # c cannot go: b goes too so that the rest fit (a 100 + c 300 = 400).
    assert names(choose([A, B, busy, D], max_size=400, now=NOW)) == ["d", "c", "b"]


def test_both_limits_and_everything() -> None:
    assert names(choose([A, B, C, D], older_than_days=30, max_size=350, now=NOW)) == ["d", "c"]
    assert names(choose([A, B, C, D], everything=True)) == ["d", "c", "b", "a"]
