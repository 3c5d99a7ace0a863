"""tinydep: a dependency small enough to ship inside a model archive as a wheel."""

from __future__ import annotations

import re

__version__ = "0.1.0"


def normalize(text: str) -> list[str]:
    """Lower-case *text* and split it into words (letters only)."""
    return re.findall(r"[a-z]+", text.lower())
