"""How much the command lines say, and in which colours: ``-q``, ``-v`` and ``--color``.

Every command (``mar``, each ``mar`` subcommand, ``torch-model-archiver``) takes the same three
options (see :mod:`.output_options`); they land here, in one process-wide value that the
consoles (:mod:`.console`) and the reporters read. This module imports nothing heavy, so that
setting it costs nothing on the way to ``--help``.

* ``quiet``: no progress bars, no ``PROG: message`` lines; warnings and errors still print.
* ``verbose``: also the details lines (where an archive was extracted, which interpreter runs
  the model, load time).
* ``color``: ``auto`` follows the terminal and ``NO_COLOR``/``FORCE_COLOR``; ``always`` and
  ``never`` override them.
"""

from __future__ import annotations

import os
from typing import Final, Literal, TextIO

from mar_tools.core.record import record, replace

ColorChoice = Literal["auto", "always", "never"]
COLOR_CHOICES: Final = ("auto", "always", "never")


@record
class OutputSettings:
    """The three output options as given (their defaults when not)."""

    quiet: bool = False
    verbose: bool = False
    color: ColorChoice = "auto"


_current = OutputSettings()


def current() -> OutputSettings:
    """The settings in force."""
    return _current


def configure(
    *, quiet: bool | None = None, verbose: bool | None = None, color: ColorChoice | None = None
) -> OutputSettings:
    """Change the settings given (None leaves one as it is); return the new settings.

    The last of ``-q`` and ``-v`` wins, so ``mar -q run -v`` is verbose.
    """
    global _current
    changes: dict[str, object] = {}
    if quiet:
        changes.update(quiet=True, verbose=False)
    if verbose:
        changes.update(verbose=True, quiet=False)
    if color is not None:
        changes["color"] = color
    _current = replace(_current, **changes)
    return _current


def reset() -> None:
    """Back to the defaults (a new command in the same process, as in tests)."""
    global _current
    _current = OutputSettings()


def wants_color(stream: TextIO) -> bool:
    """Whether text written to *stream* should be coloured: ``--color always``/``never``, else
    rich's rule (``FORCE_COLOR`` set and not empty: yes; ``NO_COLOR`` set and not empty, or
    not a terminal, or ``TERM=dumb``: no). Lets a command print plain text without importing
    rich at all."""
    choice = current().color
    if choice != "auto":
        return choice == "always"
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("NO_COLOR"):
        return False
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return terminal and os.environ.get("TERM", "").lower() not in ("dumb", "unknown")
