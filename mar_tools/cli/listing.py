"""Plain listings of the cache commands (``mar env list``, ``mar cache list``): columns
aligned with spaces, no colour and no box, so that they read the same in a terminal, a log
and a test; and ages written for people."""

from __future__ import annotations

from collections.abc import Sequence


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """*rows* (the first one the header) as lines whose columns line up, two spaces apart,
    without trailing spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def ago(timestamp: float, now: float) -> str:
    """How long before *now* *timestamp* was, in the largest whole unit."""
    seconds = max(0.0, now - timestamp)
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"
