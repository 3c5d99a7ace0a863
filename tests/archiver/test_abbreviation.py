"""Unique prefixes of long options (``torch_model_archiver.cli.abbreviation``): the two-tier
rule on its own, then through the real command line, whole outputs."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from tests.archiver.outputs import CliOutcome, entries, run_cli
from torch_model_archiver.cli.abbreviation import (
    AmbiguousOption,
    OptionNames,
    expand_abbreviations,
)
from torch_model_archiver.cli.command import UPSTREAM_LONG_OPTIONS, ArchiverCommand, command


def names_of(extra: tuple[click.Option, ...] = ()) -> OptionNames:
    """The option names of the real command, with *extra* options added as a later release
    may add them."""
    assert isinstance(command, ArchiverCommand)
    variant = ArchiverCommand(
        command.name, params=[*command.params, *extra], context_settings=command.context_settings
    )
    return variant.option_names(click.Context(variant, **variant.context_settings))


NAMES = names_of()


def test_the_command_knows_upstreams_options_and_ours_apart() -> None:
    assert NAMES.upstream == UPSTREAM_LONG_OPTIONS
    assert NAMES.ours == (
        "--extra-files-layout",
        "--digest-file",
        "--jobs",
        "--quiet",
        "--verbose",
        "--color",
        "--debug",
        "--tool-version",
    )
    assert NAMES.short_flags == {"-f", "-q", "-h"}
    assert {"-v", "-r", "-c", "-j", "--version", "--handler", "--jobs", "--digest-file"} <= (
        NAMES.valued
    )
    assert not {"--force", "--quiet", "--debug", "--tool-version", "--help"} & NAMES.valued


@pytest.mark.parametrize(
    ("args", "expanded"),
    [
        # The issue's command line.
        (
            ["--serial", "w.pt", "--model-f", "model.py", "--handl", "h.py", "--export", "out"],
            [
                *["--serialized-file", "w.pt", "--model-file", "model.py"],
                *["--handler", "h.py", "--export-path", "out"],
            ],
        ),
        # Exact names are themselves, even when they prefix one of ours.
        (["--extra-files", "x"], ["--extra-files", "x"]),
        # Unique among upstream's options: upstream's meaning, although ours also match.
        (["--extra-file", "x"], ["--extra-files", "x"]),
        (["--extra", "x"], ["--extra-files", "x"]),
        # Matching none of upstream's: ours.
        (["--extra-files-l", "relative"], ["--extra-files-layout", "relative"]),
        (["--j", "2", "--q", "--deb"], ["--jobs", "2", "--quiet", "--debug"]),
        (["--to"], ["--tool-version"]),
        # --opt=value: the name resolves, the value is kept as it is.
        (["--serial=--a=b"], ["--serialized-file=--a=b"]),
        (["--extra-files=x"], ["--extra-files=x"]),
        # Values that start with -- are values.
        (["--handler", "--ex", "--model-n", "m"], ["--handler", "--ex", "--model-name", "m"]),
        (["-v", "--ser", "-r", "--ex"], ["-v", "--ser", "-r", "--ex"]),
        (["-fv", "--ser"], ["-fv", "--ser"]),
        (["-fq", "--ser"], ["-fq", "--serialized-file"]),
        (["-v1.0", "--ser", "x"], ["-v1.0", "--serialized-file", "x"]),
        # Unknown options are left for click to report.
        (["--serail", "x", "--nope"], ["--serail", "x", "--nope"]),
        (["-x", "--ser", "w"], ["-x", "--serialized-file", "w"]),
        # Nothing after -- is an option.
        (["--ser", "w", "--", "--ex"], ["--serialized-file", "w", "--", "--ex"]),
        (["-", "--ser", "w"], ["-", "--serialized-file", "w"]),
    ],
)
def test_unique_prefixes_expand_to_the_full_name(args: list[str], expanded: list[str]) -> None:
    assert expand_abbreviations(args, NAMES) == expanded


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("--ex", "ambiguous option: --ex could match --extra-files, --export-path"),
        # Ours are not candidates where upstream's options match: upstream's message.
        ("--e=x", "ambiguous option: --e=x could match --extra-files, --export-path"),
        ("--h", "ambiguous option: --h could match --help, --handler"),
        ("--model", "ambiguous option: --model could match --model-name, --model-file"),
        ("--r", "ambiguous option: --r could match --runtime, --requirements-file"),
    ],
)
def test_an_ambiguous_prefix_names_its_candidates_as_argparse_does(
    token: str, message: str
) -> None:
    with pytest.raises(AmbiguousOption) as raised:
        expand_abbreviations(["--model-name", "m", token, "x"], NAMES)
    assert str(raised.value) == message


def test_an_option_added_later_is_resolved_from_the_command_itself() -> None:
    later = names_of((click.Option(["--zstd-level"]),))
    assert later.ours[-1] == "--zstd-level"
    assert expand_abbreviations(["--zs", "3"], later) == ["--zstd-level", "3"]
    assert expand_abbreviations(["--dig", "d.txt"], later) == ["--digest-file", "d.txt"]
    assert expand_abbreviations(["--deb"], later) == ["--debug"]
    with pytest.raises(AmbiguousOption, match=r"could match --digest-file, --debug$"):
        expand_abbreviations(["--d"], later)
    # Upstream's meanings do not move.
    assert expand_abbreviations(["--extra-file", "x"], later) == ["--extra-files", "x"]


def test_the_issues_command_line_builds_what_the_full_names_build(model_dir: Path) -> None:
    epoch = {"SOURCE_DATE_EPOCH": "1700000000"}
    short = ["--model-n", "m1", "--serial", "weights.pt", "--model-f", "model.py", "--handl"]
    short += ["handler.py", "--ver", "1.0", "--extra-file=extra", "--export", "short"]
    full = ["--model-name", "m1", "--serialized-file", "weights.pt", "--model-file", "model.py"]
    full += ["--handler", "handler.py", "--version", "1.0", "--extra-files=extra"]
    full += ["--export-path", "full"]
    assert run_cli(short, env=epoch) == run_cli(full, env=epoch) == CliOutcome(0, "", "")
    built = (model_dir / "short" / "m1.mar").read_bytes()
    assert built == (model_dir / "full" / "m1.mar").read_bytes()
    assert "a.txt" in entries(model_dir / "short" / "m1.mar")


def test_an_ambiguous_prefix_is_a_usage_error(model_dir: Path) -> None:
    outcome = run_cli(["--model-name", "m1", "--handler", "handler.py", "-v", "1", "--ex", "x"])
    assert outcome == type(outcome)(
        2,
        "",
        "torch-model-archiver: error: ambiguous option: --ex could match --extra-files, "
        "--export-path.\n"
        "hint: see 'torch-model-archiver --help'.\n",
    )
    assert not (model_dir / "m1.mar").exists()


def test_a_prefix_of_help_shows_the_help(model_dir: Path) -> None:
    assert run_cli(["--hel"]) == run_cli(["--help"])
