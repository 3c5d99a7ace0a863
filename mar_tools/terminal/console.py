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
from typing import TYPE_CHECKING, Any

from mar_tools.terminal import settings
from mar_tools.terminal.settings import ColorChoice

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

#: Variables with which rich treats a stream as a terminal even when it is not one.
_TERMINAL_OVERRIDES = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def stderr() -> Console:
    """Console for messages, warnings, errors and progress bars."""
    return _console(True, settings.current().color)


def stdout() -> Console:
    """Console for human-readable results."""
    return _console(False, settings.current().color)


@functools.cache
def _console(to_stderr: bool, color: ColorChoice) -> Console:
    # Imported here: rich costs tens of milliseconds, and most runs print nothing.
    from rich.console import Console

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
    if not _stderr_is_tty():
        if settings.current().color == "always":
            return False
        if not any(name in os.environ for name in _TERMINAL_OVERRIDES):
            return False  # what rich would decide, without loading it
    return stderr().is_terminal


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False


def literal(text: str, style: str = "") -> Text:
    """*text* exactly as given (no markup, no emoji codes), in *style*."""
    from rich.text import Text

    return Text(text, style=style)


def error(message: str, hint: str | None = None, *, prog: str = "mar") -> None:
    """Print one error message (and its hint) to stderr, never interpreted."""
    from rich.text import Text

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
    from rich.text import Text

    stderr().print(Text.assemble((f"{prog}: warning: ", "bold yellow"), literal(message)))
