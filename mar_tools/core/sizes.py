"""Byte counts: written for people (one spelling shared by every command's messages), and
counted on disk."""

from __future__ import annotations

import os
from pathlib import Path

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_size(count: int) -> str:
    """*count* bytes in the largest binary unit that keeps the number at least 1:
    ``512 B``, ``1.5 MiB``, ``2.0 TiB`` (TiB is the largest unit used)."""
    value = float(count)
    for unit in _UNITS[:-1]:
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} {_UNITS[-1]}"


def tree_size(root: Path) -> int:
    """Total size of the files under *root* (symlinks count their own size only; entries
    that vanish while they are counted count nothing)."""
    total = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            try:
                total += (Path(dirpath) / name).lstat().st_size
            except OSError:
                continue
    return total
