"""Help that teaches, for every command of both console scripts: an Examples section, no raw
click metavars (``FLOAT RANGE``), no line broken inside a ``--hyphenated-option``, option
groups for ``mar run``, and a ``mar --help`` that lists exactly the commands there are
without importing them."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from mar_tools.cli import SUBCOMMANDS, SUMMARIES, cli
from mar_tools.cli.help_text import MAR_HELP
from mar_tools.terminal.help import command_lines, wrap
from torch_model_archiver.cli.command import command as archiver

ENV = {"NO_COLOR": "1", "COLUMNS": "80"}


def _commands() -> Iterator[tuple[str, ...]]:
    """Every command path under ``mar`` (subgroups' commands included)."""
    yield ()
    for name, module in SUBCOMMANDS.items():
        command = importlib.import_module(module).command
        yield (name,)
        if isinstance(command, click.Group):
            for sub in command.commands:
                yield (name, sub)


COMMANDS = list(_commands())


def _help(*path: str) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], env=ENV, prog_name="mar")
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(("mar", *path)))
def test_every_mar_command_teaches_with_examples(path: tuple[str, ...]) -> None:
    text = _help(*path)
    assert "\nExamples:\n  # " in text
    examples = text.split("\nExamples:\n", 1)[1]
    assert "$ mar " in examples
    _assert_clean(text)


def test_the_archiver_teaches_with_examples() -> None:
    result = CliRunner().invoke(archiver, ["--help"], env=ENV)
    assert "\nExamples:\n  # a TorchScript model with a built-in handler: resnet.mar\n" in (
        result.stdout
    )
    _assert_clean(result.stdout)


def _assert_clean(text: str) -> None:
    assert not re.search(r"(FLOAT|INTEGER)( RANGE)?\b", text), text
    for line, following in zip(text.splitlines(), text.splitlines()[1:], strict=False):
        # A word cut at a hyphen: "--extra-index-" / "url".
        assert not (re.search(r"\w-$", line) and re.match(r"\s+[a-z]", following)), (
            line,
            following,
        )
    for line in text.splitlines():
        if not line.startswith("  $") and not line.startswith("      "):
            assert len(line) <= 80, line


def test_mar_help_lists_the_commands_that_exist_in_a_stable_order() -> None:
    assert list(SUMMARIES) == list(SUBCOMMANDS)
    done = subprocess.run(
        [sys.executable, "-m", "mar_tools", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **ENV},
    )
    # The whole page is MAR_HELP (test_static_help keeps it equal to click's rendering);
    # here, the part this test is about: the commands listed are exactly those there are.
    assert done.stdout == MAR_HELP
    commands = done.stdout.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    assert commands == (
        "  validate    Check archives for TorchServe 0.12 (CI-ready reports).\n"
        "  inspect     Show what an archive holds, without extracting it.\n"
        "  diff        Compare two archives, in any two formats.\n"
        "  run         Run an archive's handler on inputs, as TorchServe would.\n"
        "  serve       Serve archives with TorchServe's APIs (torchserve --start).\n"
        "  kserve      Manifests for serving archives on KServe with mar serve.\n"
        "  extract     Extract an archive's files, as TorchServe lays them out.\n"
        "  repack      Convert an archive to another format (same model).\n"
        "  env         List, locate, create and prune per-model environments.\n"
        "  cache       Show and prune the cache of archives and environments.\n"
        "  completion  Print the shell completion script."
    )
    assert (
        "\nExamples:\n  # check an archive before deploying it\n  $ mar validate model.mar\n"
        in (done.stdout)
    )


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_each_summary_is_the_commands_own_short_help(name: str) -> None:
    command = importlib.import_module(SUBCOMMANDS[name]).command
    assert command.short_help == SUMMARIES[name]


def test_mar_help_imports_no_subcommand() -> None:
    code = (
        "import sys\n"
        "from mar_tools.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"loaded = sorted(m for m in sys.modules if m in {sorted(SUBCOMMANDS.values())!r} "
        "or m in ('rich', 'torch', 'mar_tools.validate'))\n"
        "print(loaded, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV
    )
    assert done.stderr == "[]\n"


def test_mar_run_help_groups_its_options() -> None:
    text = _help("run")
    sections = re.findall(r"^(\w[\w ]*):$", text, flags=re.MULTILINE)
    assert sections == [
        "Inputs",
        "Output",
        "Model and device",
        "Environment",
        "Cache and limits",
        "Messages",
        "Examples",
    ]
    assert "  --extra-index-url URL " in text
    assert "  --max-ratio RATIO " in text


def test_wrap_breaks_at_spaces_only_and_keeps_verbatim_paragraphs() -> None:
    text = "use --pip-option=--no-index or --extra-index-url with care\n\n\b\nkeep   this\n as is"
    assert wrap(text, 24, "  ") == (
        "  use\n"
        "  --pip-option=--no-index\n"
        "  or --extra-index-url\n"
        "  with care\n"
        "\n"
        "  keep   this\n"
        "   as is"
    )


def test_long_example_lines_continue_before_an_option() -> None:
    line = "$ tool --model-name m --version 1.0 --handler handler.py --extra-files a,b"
    assert command_lines(line, 40) == [
        "$ tool --model-name m --version 1.0",
        "--handler handler.py",
        "--extra-files a,b",
    ]
