"""Text on standard output, as ``click.echo`` writes it, without importing click.

``click.echo`` writes a string to ``sys.stdout`` and flushes; it only does more when the text
holds an escape character (stripped when stdout is not a terminal), when stdout's encoding is
ASCII (rewrapped as UTF-8) or when there is no stdout. :func:`echo` writes the common case
itself and hands every other case, and every call once click is loaded, to ``click.echo``, so
that the output is the same byte for byte (issue 15: ``mar validate`` starts without click).
:func:`run_like_click` ends a command as click's ``main`` does on a closed pipe or Ctrl-C.
"""

from __future__ import annotations

import codecs
import errno
import sys
from collections.abc import Callable
from typing import Any, TextIO, cast


def echo(text: str, *, nl: bool = True) -> None:
    """Write *text* (and a newline unless not *nl*) to stdout exactly as ``click.echo``."""
    stream = sys.stdout
    if "click" in sys.modules or "\x1b" in text or stream is None or _ascii(stream.encoding):
        import click

        click.echo(text, nl=nl)
        return
    if nl:
        text += "\n"
    if text:
        stream.write(text)
    stream.flush()


def _ascii(encoding: str | None) -> bool:
    try:
        return codecs.lookup(encoding or "ascii").name == "ascii"
    except LookupError:
        return False


def run_like_click(body: Callable[[], int]) -> int:
    """*body*'s exit code, ending as a click command's ``main`` ends when *body* meets a
    closed pipe or an interrupt (the click-free path must end the same way).

    A closed stdout (``| head``): stdout and stderr stop reporting failed flushes and the
    code is 1. Ctrl-C or end of input: a blank line on stderr (it closes the terminal's
    ``^C`` echo), then :class:`KeyboardInterrupt` for the boundary to report.
    """
    try:
        return body()
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\n")
        sys.stderr.flush()
        raise KeyboardInterrupt from None
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        sys.stdout = cast(TextIO, _QuietFlush(sys.stdout))
        sys.stderr = cast(TextIO, _QuietFlush(sys.stderr))
        return 1


class _QuietFlush:
    """A stream whose ``flush`` ignores a closed pipe (the interpreter flushes stdout and
    stderr as it exits); everything else goes to the stream."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)
