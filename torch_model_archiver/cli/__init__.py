"""The ``torch-model-archiver`` command: upstream 0.12's flags on click, plus a few of ours.

Only this package imports click and rich. Errors become exit codes in one place,
``mar_tools.terminal.boundary.run_command`` (codes in ``torch_model_archiver.errors``).
:func:`main` prints ``--help`` from :data:`~torch_model_archiver.cli.help_text.ARCHIVER_HELP`
(click's own rendering kept as text, a test keeps them equal) without importing click, so
that it takes well under 60 ms (issue 15), and builds from the common command lines without
importing click either (:mod:`.argv`); every other command line runs the click command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from mar_tools.terminal.width import static_help_applies


def run(argv: Sequence[str] | None = None) -> int:
    """Run the click command with *argv* (default ``sys.argv[1:]``); return its exit code."""
    from mar_tools.terminal.boundary import run_command
    from torch_model_archiver.cli.command import PROG, command

    return run_command(command, argv, PROG)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point of ``torch-model-archiver``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if static_help_applies(args):
        from torch_model_archiver.cli.help_text import ARCHIVER_HELP

        sys.stdout.write(ARCHIVER_HELP)
        sys.stdout.flush()
        raise SystemExit(0)
    code = build_without_click(args)
    raise SystemExit(run(args) if code is None else code)


def build_without_click(args: list[str]) -> int | None:
    """The exit code of the build *args* ask for when :mod:`.argv` reads them, else None
    (click then runs them)."""
    from torch_model_archiver.cli.argv import parse, wanted

    options = parse(args) if wanted() else None
    if options is None:
        return None
    from mar_tools.terminal.guard import guarded
    from mar_tools.terminal.plain_output import run_like_click
    from torch_model_archiver.cli.build import run_build
    from torch_model_archiver.cli.names import PROG

    return guarded(lambda: run_like_click(lambda: run_build(options, os.environ, PROG)), args, PROG)
