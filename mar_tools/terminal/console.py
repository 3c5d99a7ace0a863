"""The one place that owns rich consoles for the command line.

``stdout`` carries results (a prediction body, a JSON report); ``stderr`` carries progress,
messages and errors. Colour follows ``--color`` (:mod:`.settings`): with ``auto``, rich's rules
(off when not a terminal or when ``NO_COLOR`` is set, on with ``FORCE_COLOR``); ``always`` and
``never`` override them. ``-q`` silences :func:`info` and :func:`detail`; ``-v`` turns
:func:`detail` on.

Messages carry text from users and tools (file names, model names, pip's output), so they
are never interpreted: each is printed as a :class:`~rich.text.Text` (no markup such as
``[red]``), and the consoles have emoji codes off (``model:x:v2.mar`` stays as it is).
Only the fixed prefixes are styled.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

from mar_tools.terminal import settings
from mar_tools.terminal.settings import ColorChoice


def stderr() -> Console:
    """Console for messages, warnings, errors and progress bars."""
    return _console(True, settings.current().color)


def stdout() -> Console:
    """Console for human-readable results."""
    return _console(False, settings.current().color)


@functools.cache
def _console(to_stderr: bool, color: ColorChoice) -> Console:
    options: dict[str, Any] = {}
    if color == "always":
        # An explicit colour system: rich detects none on a pipe or a TERM=dumb terminal.
        options.update(force_terminal=True, no_color=False, color_system="standard")
    elif color == "never":
        options.update(no_color=True, color_system=None)
    return Console(stderr=to_stderr, highlight=False, soft_wrap=True, emoji=False, **options)


def is_interactive() -> bool:
    """True when progress bars make sense: stderr is a terminal (not merely coloured by
    ``--color always``), not in CI-dumb mode, and no ``--quiet``."""
    if settings.current().quiet or os.environ.get("TERM") == "dumb":
        return False
    if settings.current().color == "always" and not sys.stderr.isatty():
        return False
    return stderr().is_terminal


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
    """Print one progress message to stderr (``prog: message``), never interpreted; nothing
    with ``--quiet``."""
    if not settings.current().quiet:
        stderr().print(literal(f"{prog}: {message}"))


def detail(message: str, *, prog: str = "mar") -> None:
    """Print one detail to stderr (``prog: message``), only with ``--verbose``."""
    if settings.current().verbose:
        stderr().print(literal(f"{prog}: {message}"))


def warning(message: str, *, prog: str = "mar") -> None:
    """Print one warning to stderr, never interpreted."""
    stderr().print(Text.assemble((f"{prog}: warning: ", "bold yellow"), literal(message)))
