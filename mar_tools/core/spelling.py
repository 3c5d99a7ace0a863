"""Did-you-mean: the closest spellings of a mistyped name among the names that exist.

One rule for every suggestion of both console scripts (subcommands, handler files, built-in
handler names, check codes): :func:`difflib.get_close_matches` with a cutoff that catches a
swapped, missing or doubled letter (``vaildate``, ``handlr.py``, ``image_clasifier``) without
suggesting unrelated names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

#: Similarity (0..1) a candidate needs to be suggested.
CUTOFF: Final = 0.75


def close_matches(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Up to *limit* of *candidates* that look like *word*, closest first (ties: as given)."""
    import difflib  # only a mistake needs it: start-up stays small

    return difflib.get_close_matches(word, list(dict.fromkeys(candidates)), limit, CUTOFF)


def did_you_mean(word: str, candidates: Iterable[str], limit: int = 3) -> str | None:
    """``did you mean 'a'?`` / ``did you mean 'a' or 'b'?`` for *word*, or None when no
    candidate is close."""
    matches = close_matches(word, candidates, limit)
    if not matches:
        return None
    quoted = [f"'{match}'" for match in matches]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"did you mean {listed}?"
