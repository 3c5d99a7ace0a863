"""The click-free half of the CLI boundary: our own exceptions become exit codes.

:func:`guarded` runs a command's body and maps what it raises the way every console script
does (see :mod:`.boundary`, which adds click's exceptions on top): a
:class:`~mar_tools.core.errors.MarToolsError` prints one message and exits with its class's
code, Ctrl-C exits 130, a closed pipe exits 0 quietly, anything unexpected prints one line (a
traceback only with ``--debug`` or ``MAR_DEBUG=1``) and exits 2. Nothing here imports click
or rich (rich only when there is an error to show), so that ``mar validate``'s click-free
path (:mod:`mar_tools.cli.validate_argv`) reports exactly as the click path does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from mar_tools.core.errors import ExitCode, MarToolsError


def debug_requested(argv: Sequence[str]) -> bool:
    """True when the user asked for tracebacks (``--debug`` anywhere, or ``MAR_DEBUG``)."""
    return "--debug" in argv or os.environ.get("MAR_DEBUG", "") not in ("", "0")


def guarded(body: Callable[[], int], argv: Sequence[str], prog: str) -> int:
    """*body*'s exit code, or the code of what it raised (see the module docstring)."""
    try:
        return body()
    except KeyboardInterrupt:
        show_error("interrupted.", None, prog)
        return int(ExitCode.INTERRUPTED)
    except MarToolsError as exc:
        if debug_requested(argv):
            _print_traceback()
        show_error(exc.message, exc.hint, prog)
        return int(exc.exit_code)
    except BrokenPipeError:
        # The reader went away (``| head``); nothing useful can be printed.
        _silence_stdout()
        return int(ExitCode.OK)
    except Exception as exc:
        if debug_requested(argv):
            _print_traceback()
        show_error(
            f"internal error: {type(exc).__name__}: {exc}",
            "run again with --debug for the traceback, and please report it.",
            prog,
        )
        return int(ExitCode.USAGE)


def show_error(message: str, hint: str | None, prog: str) -> None:
    """``PROG: error: MESSAGE`` (and ``hint: HINT``) on stderr."""
    # Imported only when there is an error to show: `--help` and quiet successful runs
    # never pay for rich.
    from mar_tools.terminal import console

    console.error(message, hint, prog=prog)


def _print_traceback() -> None:
    import traceback  # only --debug needs it

    traceback.print_exc()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
