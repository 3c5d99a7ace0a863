"""The ``mar`` command line.

:func:`main` is the console script. ``mar --help`` and ``mar -h`` on a terminal of at least
80 columns (or a pipe) print :data:`~mar_tools.cli.help_text.MAR_HELP`, click's own
rendering kept as text, without importing click (issue 15: help in under 80 ms; a test keeps
the text equal to click's); the common ``mar validate`` command lines run without click too
(:mod:`.validate_argv`); everything else runs the click group of :mod:`.group`, whose
names (``cli``, ``SUBCOMMANDS``, ``SUMMARIES``...) are also reachable from this package.
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from mar_tools.terminal.width import static_help_applies


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point of ``mar``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if static_help_applies(args):
        from mar_tools.cli.help_text import MAR_HELP

        sys.stdout.write(MAR_HELP)
        sys.stdout.flush()
        raise SystemExit(0)
    if args[:1] == ["validate"]:
        code = _validate_without_click(args)
        if code is not None:
            raise SystemExit(code)
    from mar_tools.cli.group import cli
    from mar_tools.terminal.boundary import run_command

    raise SystemExit(run_command(cli, args, "mar"))


def _validate_without_click(args: list[str]) -> int | None:
    """``mar validate ...``'s exit code when its hand parser reads *args*, else None (click
    then runs it): see :mod:`.validate_argv`."""
    # Loading the checks makes thousands of objects that live as long as the process: no
    # garbage-collector passes over them while they are made, nor after (gc.freeze).
    gc.disable()
    try:
        # Names from the submodule, not the submodule from this package: that would go
        # through this package's __getattr__, which imports the click group.
        from mar_tools.cli.validate_argv import parse, wanted

        request = parse(args[1:]) if wanted() else None
        if request is None:
            return None
        import mar_tools.validate  # noqa: F401  (the checks, loaded here for the freeze)
        from mar_tools.cli.validate_run import run_validate
        from mar_tools.terminal.guard import guarded
        from mar_tools.terminal.plain_output import run_like_click

        gc.freeze()
    finally:
        gc.enable()
    return guarded(lambda: run_like_click(lambda: run_validate(request)), args, "mar")


def __getattr__(name: str) -> Any:
    """``cli``, ``SUBCOMMANDS``, ``SUMMARIES``... from :mod:`.group`, imported on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module("mar_tools.cli.group"), name)
