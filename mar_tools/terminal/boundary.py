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

import sys
from collections.abc import Sequence

import click

from mar_tools.core.errors import ExitCode
from mar_tools.core.spelling import did_you_mean
from mar_tools.terminal.guard import debug_requested, guarded, show_error

__all__ = ["click_error", "debug_requested", "run_command"]


def run_command(command: click.Command, argv: Sequence[str] | None, prog: str) -> int:
    """Run *command* with *argv* (default ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        try:
            result = command.main(args=args, prog_name=prog, standalone_mode=False)
        except click.exceptions.Exit as exc:
            return int(exc.exit_code)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # a group run without a command: its help (on stderr), exit 2
            return int(exc.exit_code)
        except click.ClickException as exc:
            message, hint = click_error(exc)
            show_error(message, hint, prog)
            return int(exc.exit_code)
        except click.Abort:
            show_error("interrupted.", None, prog)
            return int(ExitCode.INTERRUPTED)
        return result if isinstance(result, int) else int(ExitCode.OK)

    return guarded(body, args, prog)


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
