"""``mar validate``'s common command lines, parsed without click (issue 15: start-up).

Importing click costs about twice a bare interpreter's start-up, more than checking a small
archive. :func:`parse` reads the command lines that need none of click's work: archive paths
that exist and are readable, ``--format``, ``-o/--output``, ``--strict``, ``--quick``,
``--select``, ``--ignore``, ``--changed-files``, ``--list-checks``, ``--debug``, ``-q``,
``-v`` and ``--color``, each spelled in full (``--format json`` or ``--format=json``). For
anything else (help, completion, an unknown or combined flag, a missing value, a value that
click would refuse, ``--``, the limit flags or their environment variables) it answers None
and the click command runs as before, with its own messages. Both ways end in
:func:`~mar_tools.cli.validate_run.run_validate`; a test runs each command line both ways
and compares the bytes and exit codes. ``MAR_CLICK_ONLY=1`` turns this path off.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from mar_tools.cli.validate_run import FORMATS, ValidateRequest
from mar_tools.core.limits import ENV_VARS, Limits
from mar_tools.terminal import settings
from mar_tools.terminal.click_free import CLICK_ONLY_VAR as CLICK_ONLY_VAR
from mar_tools.terminal.click_free import allowed, apply_output_options

#: Environment variables that change what click would parse (limits, shell completion).
_CLICK_VARS: Final = (*ENV_VARS.values(), "_MAR_COMPLETE")
_FLAGS: Final = frozenset({"--strict", "--quick", "--changed-files", "--list-checks", "--debug"})
_VALUED: Final = {
    "--format": "output_format",
    "-o": "output",
    "--output": "output",
    "--select": "select",
    "--ignore": "ignore",
    "--color": "color",
}
#: Options whose value may follow an ``=`` (click reads ``-o=x`` as the file ``=x``).
_LONG_VALUED: Final = frozenset(name for name in _VALUED if name.startswith("--"))
#: The output options, applied in the order of their first appearance, as click does.
_OUTPUT: Final = {"-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose"}


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the click-free path may be tried at all (see :data:`CLICK_ONLY_VAR`)."""
    return allowed(environ, _CLICK_VARS)


def parse(args: Sequence[str]) -> ValidateRequest | None:
    """The request *args* (what follows ``mar validate``) make, with the output options put
    in :mod:`settings`; None, and no setting changed, when click must parse them."""
    flags: set[str] = set()
    values: dict[str, list[str]] = {name: [] for name in set(_VALUED.values())}
    output_order: list[str] = []
    paths: list[str] = []
    tokens = iter(args)
    for token in tokens:
        name, equals, attached = token.partition("=")
        if not token.startswith("-"):
            paths.append(token)
        elif token in _FLAGS:
            flags.add(token)
        elif token in _OUTPUT:
            output_order.append(_OUTPUT[token])
        elif token in _VALUED or (equals and name in _LONG_VALUED):
            key = name if equals else token
            value = attached if equals else next(tokens, None)
            if value is None or (not equals and value.startswith("-")):
                return None
            values[_VALUED[key]].append(value)
            if key == "--color":
                output_order.append("color")
        else:
            return None
    request = _request(paths, flags, values)
    if request is None:
        return None
    apply_output_options(output_order, values["color"])
    return request


def _request(
    paths: list[str], flags: set[str], values: dict[str, list[str]]
) -> ValidateRequest | None:
    output_format = values["output_format"][-1] if values["output_format"] else "text"
    output = values["output"][-1] if values["output"] else None
    if output == "":
        return None
    colors = values["color"]
    if output_format not in FORMATS or (colors and colors[-1] not in settings.COLOR_CHOICES):
        return None
    listing = "--list-checks" in flags
    if not (paths or listing or "--changed-files" in flags):
        return None  # click's usage error
    if not all(_readable(path) for path in paths):
        return None
    if output is not None and not _writable_file_name(output):
        return None
    defaults = Limits()
    return ValidateRequest(
        paths=tuple(Path(path) for path in paths),
        # As click converts the defaults of the limit options (ByteSize, FloatRange, IntRange).
        limits=Limits(
            max_total_size=defaults.max_total_size,
            max_ratio=float(defaults.max_ratio),
            max_entries=int(defaults.max_entries),
        ),
        output_format=output_format,
        output=Path(output) if output is not None else None,
        strict="--strict" in flags,
        quick="--quick" in flags,
        select=tuple(values["select"]),
        ignore=tuple(values["ignore"]),
        changed_files="--changed-files" in flags,
        list_checks=listing,
    )


def _readable(path: str) -> bool:
    """What ``click.Path(exists=True)`` accepts: a path that exists and is readable."""
    try:
        Path(path).stat()
    except (OSError, ValueError):
        return False
    return os.access(path, os.R_OK)


def _writable_file_name(path: str) -> bool:
    """What ``click.Path(dir_okay=False)`` accepts: a missing path, or a readable non-directory."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return True
    except ValueError:
        return False
    return not stat.S_ISDIR(mode) and os.access(path, os.R_OK)
