"""Running ``mar`` commands in-process for whole-output tests: through the same error
boundary as the console script, with ``NO_COLOR`` and a fixed width."""

from __future__ import annotations

from click.testing import CliRunner

from mar_tools.cli import cli
from mar_tools.terminal.boundary import run_command

ENV = {"NO_COLOR": "1", "COLUMNS": "100"}


def mar(*args: str) -> tuple[int, str, str]:
    """Run ``mar ARGS``; return (exit code, stdout, stderr)."""
    runner = CliRunner()
    with runner.isolation(env=ENV) as streams:
        code = run_command(cli, list(args), "mar")
        out, err = streams[0].getvalue(), streams[1].getvalue()
    return code, out.decode(), err.decode()
