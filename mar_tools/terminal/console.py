"""The one place that owns rich consoles for the command line.

``stdout`` carries results (a prediction body, a JSON report); ``stderr`` carries progress,
messages and errors. Colour follows rich's rules: off when not a terminal or when
``NO_COLOR`` is set.
"""

from __future__ import annotations

import functools
import os

from rich.console import Console


@functools.cache
def stderr() -> Console:
    """Console for messages, warnings, errors and progress bars."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


@functools.cache
def stdout() -> Console:
    """Console for human-readable results."""
    return Console(highlight=False, soft_wrap=True)


def is_interactive() -> bool:
    """True when progress bars make sense: stderr is a terminal and not in CI-dumb mode."""
    return stderr().is_terminal and os.environ.get("TERM") != "dumb"


def error(message: str, hint: str | None = None, *, prog: str = "mar") -> None:
    """Print one error message (and its hint) to stderr, never markup-interpreted."""
    console = stderr()
    console.print(f"[bold red]{prog}: error:[/] ", end="")
    console.print(message, markup=False)
    if hint:
        console.print("[dim]hint:[/] ", end="")
        console.print(hint, markup=False)


def info(message: str, *, prog: str = "mar") -> None:
    """Print one progress message to stderr (``prog: message``), never markup-interpreted."""
    stderr().print(f"{prog}: {message}", markup=False)


def warning(message: str, *, prog: str = "mar") -> None:
    """Print one warning to stderr."""
    console = stderr()
    console.print(f"[bold yellow]{prog}: warning:[/] ", end="")
    console.print(message, markup=False)
