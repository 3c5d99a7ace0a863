"""``mar completion bash|zsh|fish``: print the shell completion script.

The script is click's: on each Tab the shell runs ``mar`` again with ``_MAR_COMPLETE`` set,
and ``mar`` answers with the candidates (subcommands, options, choices, paths, and the check
codes of ``mar validate --select/--ignore``) instead of running a command.
"""

from __future__ import annotations

import click

from mar_tools.terminal.help import HelpCommand

SHELLS = ("bash", "zsh", "fish")
#: The environment variable the scripts set; click derives the same name from ``mar``.
COMPLETE_VAR = "_MAR_COMPLETE"


@click.command(
    "completion",
    cls=HelpCommand,
    short_help="Print the shell completion script.",
    examples=(
        ('eval "$(mar completion bash)"', "in ~/.bashrc (bash 4.4 or later)"),
        ('eval "$(mar completion zsh)"', "in ~/.zshrc"),
        ("mar completion fish > ~/.config/fish/completions/mar.fish", "for fish"),
    ),
)
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish); load it in your shell's
    start-up file.
    """
    from click.shell_completion import get_completion_class

    completion = get_completion_class(shell)
    assert completion is not None  # every name of SHELLS is one of click's
    script = completion(ctx.find_root().command, {}, "mar", COMPLETE_VAR).source()
    click.echo(script.rstrip("\n"))
