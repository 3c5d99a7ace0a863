"""Text on standard output, as ``click.echo`` writes it, without importing click.

``click.echo`` writes a string to ``sys.stdout`` and flushes; it only does more when the text
holds an escape character (stripped when stdout is not a terminal), when stdout's encoding is
ASCII (rewrapped as UTF-8) or when there is no stdout. :func:`echo` writes the common case
itself and hands every other case, and every call once click is loaded, to ``click.echo``, so
that the output is the same byte for byte (issue 15: ``mar validate`` starts without click).
"""

from __future__ import annotations

import codecs
import sys


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
