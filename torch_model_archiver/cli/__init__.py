"""The ``torch-model-archiver`` command: upstream 0.12's flags on click, plus a few of ours.

Only this package imports click and rich. Errors become exit codes in one place,
``mar_tools.terminal.boundary.run_command`` (codes in ``torch_model_archiver.errors``).
"""

from __future__ import annotations

from collections.abc import Sequence

from mar_tools.terminal.boundary import run_command
from torch_model_archiver.cli.command import PROG, command


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command with *argv* (default ``sys.argv[1:]``); return its exit code."""
    return run_command(command, argv, PROG)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point of ``torch-model-archiver``."""
    raise SystemExit(run(argv))
