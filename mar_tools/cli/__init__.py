"""The ``mar`` command: a group whose subcommands are imported only when used.

Each subcommand lives in its own module (``mar_tools/cli/<name>.py``) exposing ``command``;
lazy loading keeps ``mar validate`` and ``mar --help`` fast (no torch, no run machinery).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence

import click

from mar_tools._version import __version__
from mar_tools.terminal.boundary import run_command

#: Subcommand name -> module that defines ``command``.
SUBCOMMANDS: dict[str, str] = {
    "validate": "mar_tools.cli.validate",
    "run": "mar_tools.cli.run",
    "env": "mar_tools.cli.env",
    "inspect": "mar_tools.cli.inspect",
    "diff": "mar_tools.cli.diff",
    "repack": "mar_tools.cli.repack",
    "extract": "mar_tools.cli.extract",
    "serve": "mar_tools.cli.serve",
    "kserve": "mar_tools.cli.kserve",
    "cache": "mar_tools.cli.cache",
    "completion": "mar_tools.cli.completion",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._available()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        known = super().get_command(ctx, cmd_name)
        if known is not None or cmd_name not in self._available():
            return known
        module = importlib.import_module(SUBCOMMANDS[cmd_name])
        command = module.command
        assert isinstance(command, click.Command)
        return command

    @staticmethod
    def _available() -> list[str]:
        return [name for name, module in SUBCOMMANDS.items() if importlib.util.find_spec(module)]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "-V", "--version", prog_name="mar", message="%(prog)s %(version)s"
)
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
def cli(debug: bool) -> None:
    """Validate, inspect and run TorchServe model archives (.mar, .tar.gz, directories)."""


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point of ``mar``."""
    raise SystemExit(run_command(cli, argv, "mar"))
