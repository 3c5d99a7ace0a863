"""``--max-size``, ``--max-ratio`` and ``--max-entries``: the decompression limits
(:class:`~mar_tools.core.limits.Limits`), shared by ``mar validate``, ``mar run`` and ``mar
env``. Each can also be set by its environment variable (``MAR_MAX_SIZE``...); the flag wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from mar_tools.core.limits import ENV_VARS, Limits

F = TypeVar("F", bound=Callable[..., Any])
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(i?B)?\s*$", re.IGNORECASE)
_DEFAULTS = Limits()


class ByteSize(click.ParamType):  # type: ignore[type-arg]
    """A size in bytes: ``1073741824``, ``512M`` or ``64GiB`` (powers of 1024)."""

    name = "size"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a size like 1073741824, 512M or 64GiB.", param, ctx)
        power = " KMGT".index(match.group(2).upper() or " ")
        return int(match.group(1)) * int(1024**power)


def limit_options(func: F) -> F:
    """Add the three limit options to a command (see the module docstring)."""
    options = [
        click.option(
            "--max-size",
            type=ByteSize(),
            default="256GiB",
            show_default=True,
            envvar=ENV_VARS["total-size"],
            show_envvar=True,
            help="Largest total uncompressed size allowed.",
        ),
        click.option(
            "--max-ratio",
            type=click.FloatRange(min=1),
            metavar="RATIO",
            default=_DEFAULTS.max_ratio,
            show_default=True,
            envvar=ENV_VARS["ratio"],
            show_envvar=True,
            help="Largest compression ratio allowed (zip: per entry of 1 MiB or more; "
            "tar.gz: the whole archive).",
        ),
        click.option(
            "--max-entries",
            type=click.IntRange(min=1),
            metavar="N",
            default=_DEFAULTS.max_entries,
            show_default=True,
            envvar=ENV_VARS["entry-count"],
            show_envvar=True,
            help="Most entries allowed.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def limits_from(params: Mapping[str, Any]) -> Limits:
    """The :class:`Limits` the command line asked for."""
    return Limits(
        max_total_size=params["max_size"],
        max_ratio=params["max_ratio"],
        max_entries=params["max_entries"],
    )
