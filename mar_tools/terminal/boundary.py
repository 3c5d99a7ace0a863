"""The single boundary between the library and the shell: exceptions become exit codes.

Every console script calls :func:`run_command`. Deliberate errors (:class:`MarToolsError`)
print one message and exit with their class's code; click usage errors exit 2; Ctrl-C
exits 130; anything unexpected prints one line (a traceback only with ``--debug`` or
``MAR_DEBUG=1``) and exits 2.

Every error, click's included, reads the same way::

    PROG: error: MESSAGE
    hint: WHAT TO DO

click's own ``Usage: ... Try '... --help'`` / ``Error: ...`` block is never printed: a usage
error's hint is its suggestions (click's "Did you mean", or a ``hint`` attribute set by the
raiser) or else a pointer at the command's ``--help``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from mar_tools.core.errors import ExitCode, MarToolsError
from mar_tools.core.spelling import did_you_mean


def debug_requested(argv: Sequence[str]) -> bool:
    """True when the user asked for tracebacks (``--debug`` anywhere, or ``MAR_DEBUG``)."""
    return "--debug" in argv or os.environ.get("MAR_DEBUG", "") not in ("", "0")


def run_command(command: click.Command, argv: Sequence[str] | None, prog: str) -> int:
    """Run *command* with *argv* (default ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = debug_requested(args)
    try:
        result = command.main(args=args, prog_name=prog, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # a group run without a command: its help (on stderr), exit 2
        return int(exc.exit_code)
    except click.ClickException as exc:
        message, hint = click_error(exc)
        _error(message, hint, prog)
        return int(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        _error("interrupted.", None, prog)
        return int(ExitCode.INTERRUPTED)
    except MarToolsError as exc:
        if debug:
            _print_traceback()
        _error(exc.message, exc.hint, prog)
        return int(exc.exit_code)
    except BrokenPipeError:
        # The reader went away (``| head``); nothing useful can be printed.
        _silence_stdout()
        return int(ExitCode.OK)
    except Exception as exc:
        if debug:
            _print_traceback()
        _error(
            f"internal error: {type(exc).__name__}: {exc}",
            "run again with --debug for the traceback, and please report it.",
            prog,
        )
        return int(ExitCode.USAGE)
    return result if isinstance(result, int) else int(ExitCode.OK)


def click_error(exc: click.ClickException) -> tuple[str, str | None]:
    """*exc* as ``(message, hint)`` in our style (see the module docstring)."""
    hint: str | None = getattr(exc, "hint", None)
    if isinstance(exc, click.NoSuchOption):
        message = f"no such option: {exc.option_name}"
        if exc.possibilities and hint is None:
            hint = did_you_mean(exc.option_name, exc.possibilities) or (
                f"did you mean '{exc.possibilities[0]}'?"
            )
    else:
        message = exc.format_message()
        message = message[:1].lower() + message[1:] if message[1:2].islower() else message
    if hint is None and isinstance(exc, click.UsageError) and exc.ctx is not None:
        hint = f"see '{exc.ctx.command_path} --help'."
    if not message.endswith((".", "?", "!", ":")):
        message += "."
    return message, hint


def _error(message: str, hint: str | None, prog: str) -> None:
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
