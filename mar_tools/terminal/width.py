"""The terminal width click's help formatter starts from, known without importing click.

Both console scripts print ``--help`` from text kept in the package (click's own rendering,
equal by test) when the width is at least :data:`STATIC_HELP_COLUMNS`: from there on, click
renders the help at its maximum width (80 columns less its margin), the same every time.
"""

from __future__ import annotations

import os
import sys
from typing import Final

#: The width from which click's rendering of a help page no longer depends on the terminal.
STATIC_HELP_COLUMNS: Final = 80


def terminal_columns() -> int:
    """``COLUMNS``, else the terminal's width, else 80: what :func:`shutil.get_terminal_size`
    answers for the columns (without importing shutil)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def static_help_applies(args: list[str]) -> bool:
    """Whether *args* ask only for the help page, on a terminal wide enough for the kept text."""
    return args in (["--help"], ["-h"]) and terminal_columns() >= STATIC_HELP_COLUMNS
