"""The ``torch-model-archiver`` command: upstream 0.12's flags on click, plus a few of ours.

Only this package imports click and rich. Errors become exit codes in one place,
``mar_tools.terminal.boundary.run_command`` (codes in ``torch_model_archiver.errors``).
:func:`main` prints ``--help`` from :data:`~torch_model_archiver.cli.help_text.ARCHIVER_HELP`
(click's own rendering kept as text, a test keeps them equal) without importing click, so
that it takes well under 60 ms (issue 15).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mar_tools.terminal.width import static_help_applies


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command with *argv* (default ``sys.argv[1:]``); return its exit code."""
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
    raise SystemExit(run(args))
