"""The ``mar`` click group: subcommands imported only when used.

Each subcommand lives in its own module (``mar_tools/cli/<name>.py``) exposing ``command``;
lazy loading keeps ``mar validate`` and ``mar --help`` fast (no torch, no run machinery):
``mar --help`` lists the commands from :data:`SUMMARIES` without importing one. A subcommand
without a summary there is imported for its ``short_help`` (slower, still correct).

Every subcommand gets the output options (``-q``, ``-v``, ``--color``) when it is loaded, so
that they are the same everywhere (:mod:`mar_tools.terminal.output_options`).
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from mar_tools._version import __version__
from mar_tools.terminal.help import HelpGroup
from mar_tools.terminal.output_options import output_options

#: Subcommand name -> module that defines ``command``, in the order ``mar --help`` lists them.
SUBCOMMANDS: dict[str, str] = {
    "validate": "mar_tools.cli.validate",
    "inspect": "mar_tools.cli.inspect",
    "diff": "mar_tools.cli.diff",
    "run": "mar_tools.cli.run",
    "serve": "mar_tools.cli.serve",
    "kserve": "mar_tools.cli.kserve",
    "extract": "mar_tools.cli.extract",
    "repack": "mar_tools.cli.repack",
    "env": "mar_tools.cli.env",
    "cache": "mar_tools.cli.cache",
    "completion": "mar_tools.cli.completion",
}

#: Subcommand name -> its line in ``mar --help`` (a test keeps each equal to the command's
#: own ``short_help``, so that the list is right without importing the modules).
SUMMARIES: dict[str, str] = {
    "validate": "Check archives for TorchServe 0.12 (CI-ready reports).",
    "inspect": "Show what an archive holds, without extracting it.",
    "diff": "Compare two archives, in any two formats.",
    "run": "Run an archive's handler on inputs, as TorchServe would.",
    "serve": "Serve archives with TorchServe's APIs (torchserve --start).",
    "kserve": "Manifests for serving archives on KServe with mar serve.",
    "extract": "Extract an archive's files, as TorchServe lays them out.",
    "repack": "Convert an archive to another format (same model).",
    "env": "List, locate, create and prune per-model environments.",
    "cache": "Show and prune the cache of archives and environments.",
    "completion": "Print the shell completion script.",
}

EXAMPLES = (
    ("mar validate model.mar", "check an archive before deploying it"),
    ("mar run model.mar --input kitten.jpg", "run the handler on one input"),
    ("mar inspect model.mar", "see the manifest, handler and weights"),
    ("mar serve model.mar", "serve it on TorchServe's ports"),
)


class LazyGroup(HelpGroup):
    """A click group that imports a subcommand's module on first use and gives each loaded
    subcommand the output options (a mistyped one gets the closest: :class:`HelpGroup`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        available = self._available()
        return [*available, *sorted(set(super().list_commands(ctx)) - set(available))]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        known = super().get_command(ctx, cmd_name)
        if known is not None or cmd_name not in self._available():
            return known
        module = importlib.import_module(SUBCOMMANDS[cmd_name])
        command = module.command
        assert isinstance(command, click.Command)
        _add_output_options(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            summary = SUMMARIES.get(name)
            if summary is None:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                summary = command.get_short_help_str(limit=formatter.width)
            rows.append((name, summary))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @staticmethod
    def _available() -> list[str]:
        return [name for name, module in SUBCOMMANDS.items() if importlib.util.find_spec(module)]


def _add_output_options(command: click.Command) -> None:
    """Give *command* (and a group's subcommands) the output options it does not have."""
    if getattr(command, "_output_options_added", False):
        return
    template = click.command("template")(output_options()(lambda: None))
    names = {name for param in command.params for name in param.opts}
    for param in template.params:
        if not names.intersection(param.opts):
            command.params.append(param)
    command._output_options_added = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _add_output_options(sub)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    examples=EXAMPLES,
    epilog="Run 'mar COMMAND --help' for a command's options and examples.\n\n"
    "\b\nDocs: https://github.com/mar-tools/mar-tools/tree/main/docs",
)
@click.version_option(
    __version__, "-V", "--version", prog_name="mar", message="%(prog)s %(version)s"
)
@output_options()
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
def cli(debug: bool) -> None:
    """Validate, inspect and run TorchServe model archives (.mar, .tar.gz, directories)."""
