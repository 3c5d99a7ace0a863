"""Links that leave the checkout: the README (also the PyPI page) and every ``--help`` point at
absolute URLs of files that exist, never at ``docs/*.md`` paths that an installed package
does not have."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from mar_tools.cli import cli as mar_cli
from torch_model_archiver.cli.command import command as archiver_command

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "https://github.com/mar-tools/mar-tools"
#: A link to a file or directory of this repository's main branch.
REPOSITORY_PATH = re.compile(re.escape(REPOSITORY) + r"/(?:blob|tree)/main/([^\s)#]+)")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def helps() -> Iterator[tuple[str, str]]:
    """``(command line, --help text)`` for torch-model-archiver, mar and every subcommand."""

    def walk(
        command: click.Command, path: list[str], parent: click.Context | None
    ) -> Iterator[tuple[str, str]]:
        # As make_context builds it: with the command's context settings. (A context without
        # them would make click cache a help option without -h on the shared command.)
        settings = {"max_content_width": 100, **command.context_settings}
        ctx = command.context_class(command, info_name=path[-1], parent=parent, **settings)
        yield " ".join(path), command.get_help(ctx)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                yield from walk(sub, [*path, name], ctx)

    yield from walk(archiver_command, ["torch-model-archiver"], None)
    yield from walk(mar_cli, ["mar"], None)


HELPS = dict(helps())


def test_every_command_is_covered() -> None:
    assert {
        "torch-model-archiver",
        "mar",
        "mar validate",
        "mar run",
        "mar env",
        "mar serve",
    } <= set(HELPS)


@pytest.mark.parametrize("command_line", sorted(HELPS))
def test_help_links_are_absolute_and_lead_somewhere(command_line: str) -> None:
    text = HELPS[command_line]
    for target in REPOSITORY_PATH.findall(text):
        assert (ROOT / target).exists(), f"{command_line} --help links to missing {target}"
    without_urls = REPOSITORY_PATH.sub("", text)
    assert not re.search(r"\bdocs/\S+\.md", without_urls), f"{command_line}: a relative docs path"


@pytest.mark.parametrize(
    "command_line", ["torch-model-archiver", "mar validate", "mar run", "mar env", "mar serve"]
)
def test_each_command_points_at_its_page(command_line: str) -> None:
    assert re.search(
        rf"\n  Docs: {re.escape(REPOSITORY)}/blob/main/docs/\S+\.md(\n|$)", HELPS[command_line]
    )


def test_the_readme_has_no_relative_links() -> None:
    text = (ROOT / "README.md").read_text()
    targets = MARKDOWN_LINK.findall(text)
    assert len(targets) > 5
    relative = [t for t in targets if not t.startswith(("https://", "http://", "#"))]
    assert relative == []
    for target in REPOSITORY_PATH.findall(text):
        assert (ROOT / target).exists(), f"README links to missing {target}"
