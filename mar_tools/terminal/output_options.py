"""``-q/--quiet``, ``-v/--verbose`` and ``--color``: the same three options on every command.

They may be given to ``mar`` itself or to any subcommand (``mar -q validate x.mar`` and
``mar validate -q x.mar`` mean the same), and to ``torch-model-archiver``, whose ``-v`` is
upstream's model version: there, verbose is ``--verbose`` only. Their values go to
:mod:`.settings`; none reaches the command's function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from mar_tools.terminal import settings

F = TypeVar("F", bound=Callable[..., Any])


def _set_quiet(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        settings.configure(quiet=True)


def _set_verbose(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        settings.configure(verbose=True)


def _set_color(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        settings.configure(color=value)  # type: ignore[arg-type]


def output_options(
    *,
    quiet_help: str = "Say less: no progress and no informational messages.",
    verbose_short: bool = True,
) -> Callable[[F], F]:
    """Add ``-q/--quiet``, ``-v/--verbose`` (``--verbose`` only unless *verbose_short*) and
    ``--color WHEN`` to a command."""

    def decorate(function: F) -> F:
        verbose_names = ("-v", "--verbose") if verbose_short else ("--verbose",)
        function = click.option(
            "--color",
            type=click.Choice(settings.COLOR_CHOICES),
            metavar="auto|always|never",
            expose_value=False,
            is_eager=True,
            callback=_set_color,
            help="Colour in messages: auto (a terminal, unless NO_COLOR is set), always, never.",
        )(function)
        function = click.option(
            *verbose_names,
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_set_verbose,
            help="Say more: where files are, which interpreter runs, timings.",
        )(function)
        function = click.option(
            "-q",
            "--quiet",
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_set_quiet,
            help=quiet_help,
        )(function)
        return function

    return decorate
