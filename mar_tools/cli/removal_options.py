"""The options of the commands that remove cache entries (``mar cache prune/clean``, ``mar
env prune``): ``--older-than``, ``--dry-run``, and ``--yes`` with the confirmation asked
before everything is removed (``mar cache clean``, ``mar env prune --all``).

``--yes`` answers for the user. Without it the question is asked on the terminal; when
standard input is not a terminal (a script, CI) nobody can answer, so the command refuses
rather than guess, and says how to confirm.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from mar_tools.core.errors import ExitCode, UsageError

F = TypeVar("F", bound=Callable[..., Any])

#: ``--yes``/``-y``: remove without asking.
yes_option = click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
#: ``--dry-run``: say what would be removed.
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Show what would be removed; remove nothing."
)


def older_than_option(what: str, default: str) -> Callable[[F], F]:
    """``--older-than DAYS`` (a float, None when not given) for removing *what*; *default*
    says what applies without it."""
    return click.option(
        "--older-than",
        type=click.FloatRange(min=0),
        default=None,
        metavar="DAYS",
        help=f"Remove {what} unused for more than DAYS days ({default}).",
    )


def confirm(question: str, *, yes: bool, what: str) -> None:
    """Go on when *yes*, or when the user answers yes to *question* on the terminal.

    Exits 1 (nothing removed) when the user answers no; raises :class:`UsageError` when
    standard input is not a terminal; *what* names the removal in that message.
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"refusing to {what} without confirmation: standard input is not a terminal.",
            hint="pass --yes to confirm, or --dry-run to see what would be removed.",
        )
    if not click.confirm(question, default=False, err=True):
        click.echo("Nothing removed.", err=True)
        raise click.exceptions.Exit(int(ExitCode.FAILURE))
