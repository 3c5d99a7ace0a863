"""The one place that owns rich consoles for the command line.

``stdout`` carries results (a prediction body, a JSON report); ``stderr`` carries progress,
messages and errors. Colour follows rich's rules: off when not a terminal or when
``NO_COLOR`` is set.

Messages carry text from users and tools (file names, model names, pip's output), so they
are never interpreted: each is printed as a :class:`~rich.text.Text` (no markup such as
``[red]``), and the consoles have emoji codes off (``model:x:v2.mar`` stays as it is).
Only the fixed prefixes are styled.
"""

from __future__ import annotations

import functools
import os

from rich.console import Console
from rich.text import Text


@functools.cache
def stderr() -> Console:
    """Console for messages, warnings, errors and progress bars."""
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


@functools.cache
def stdout() -> Console:
    """Console for human-readable results."""
    return Console(highlight=False, soft_wrap=True, emoji=False)


def is_interactive() -> bool:
    """True when progress bars make sense: stderr is a terminal and not in CI-dumb mode."""
    return stderr().is_terminal and os.environ.get("TERM") != "dumb"


def literal(text: str, style: str = "") -> Text:
    """*text* exactly as given (no markup, no emoji codes), in *style*."""
    return Text(text, style=style)


def error(message: str, hint: str | None = None, *, prog: str = "mar") -> None:
    """Print one error message (and its hint) to stderr, never interpreted."""
    console = stderr()
    console.print(Text.assemble((f"{prog}: error: ", "bold red"), literal(message)))
    if hint:
        console.print(Text.assemble(("hint: ", "dim"), literal(hint)))


def info(message: str, *, prog: str = "mar") -> None:
    """Print one progress message to stderr (``prog: message``), never interpreted."""
    stderr().print(literal(f"{prog}: {message}"))


def warning(message: str, *, prog: str = "mar") -> None:
    """Print one warning to stderr, never interpreted."""
    stderr().print(Text.assemble((f"{prog}: warning: ", "bold yellow"), literal(message)))
