"""Abbreviated options side by side with upstream 0.12's real argparse parser.

Each command line goes to ``model_archiver.arg_parser.ArgParser.export_model_args_parser()``
in upstream's venv (one subprocess for all of them) and to our click command's parser; the
verdicts must agree: the same values, the same ambiguity message, an error for an error. The
rows marked ``ours`` are the documented extensions: lines upstream rejects and we accept
(abbreviations of our own options, values that start with ``--``).
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any

import click
import pytest

from tests.support.upstream import UpstreamUnavailable, archiver_venv, venv_bin
from torch_model_archiver.cli.command import PROG, UPSTREAM_LONG_OPTIONS, command
from torch_model_archiver.config_fields import CONFIG_FIELDS

pytestmark = pytest.mark.compat

#: The fields of upstream's ModelArchiverConfig: what a parsed command line means.
FIELDS = CONFIG_FIELDS
BASE = ("--model-name", "m", "--handler", "h.py", "-v", "1.0")

# Runs in upstream's venv: reads a JSON list of argv lists on stdin, prints one verdict per
# line, plus the parser's long options. export_model_args_parser() parses sys.argv itself.
UPSTREAM_SCRIPT = r"""
import argparse, contextlib, dataclasses, io, json, os, sys
from model_archiver.arg_parser import ArgParser

parsers = []
original = argparse.ArgumentParser.parse_args
def recording(self, *args, **kwargs):
    parsers.append(self)
    return original(self, *args, **kwargs)
argparse.ArgumentParser.parse_args = recording

verdicts = []
for argv in json.load(sys.stdin):
    sys.argv = ["torch-model-archiver", *argv]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            config = ArgParser.export_model_args_parser()
    except SystemExit as exc:
        lines = err.getvalue().strip().splitlines()
        message = lines[-1].split(": error: ", 1)[-1] if exc.code else ""
        verdicts.append({"exit": exc.code or 0, "message": message})
        continue
    values = dataclasses.asdict(config)
    if values["export_path"] == os.getcwd():
        values["export_path"] = None
    verdicts.append({"exit": None, "values": values})
long = [s for s in parsers[0]._option_string_actions if s.startswith("--")]
print(json.dumps({"verdicts": verdicts, "long_options": long}))
"""


@dataclass(frozen=True)
class Case:
    """A command line and how our verdict relates to upstream's."""

    argv: tuple[str, ...]
    #: "same": the same verdict. "ours": upstream rejects it; we accept it with these values.
    relation: str = "same"
    ours: tuple[tuple[str, Any], ...] = ()


def base(*tokens: str) -> tuple[str, ...]:
    return (*BASE, *tokens)


CASES = (
    # The command line.
    Case(
        (
            *("--model-n", "m", "--serial", "w.pt", "--model-f", "model.py"),
            *("--handl", "h.py", "--export", "out", "-v", "1.0"),
        )
    ),
    # Unique prefixes of upstream's options, with and without =value.
    Case(base("--serial=w.pt")),
    Case(base("--extra-file", "x")),
    Case(base("--extra", "x")),
    Case(base("--extra-f=x")),
    Case(base("--exp", "out")),
    Case(base("--ru", "python3")),
    Case(base("--re", "req.txt")),
    Case(base("--c", "cfg.yaml")),
    Case(base("--ar", "tgz")),
    Case(base("--archive=zip-store")),
    Case(base("--f")),
    Case(base("--fo")),
    Case(("--model-n", "m", "--hand", "h.py", "--ver", "2.0")),
    Case(("--model-na=m", "--handl=h.py", "--v=2.0")),
    Case(base("--hel")),
    Case(base("--he")),
    # Exact names, also where one of ours starts with them.
    Case(base("--extra-files", "x")),
    Case(base("--extra-files=x")),
    Case(base("--serialized-file=w.pt", "--force")),
    Case(("--help",)),
    # Ambiguous among upstream's options: the same message, ours never among the candidates.
    Case(base("--ex", "x")),
    Case(base("--ex=x")),
    Case(base("--e", "x")),
    Case(base("--h")),
    Case(base("--model", "x")),
    Case(base("--r", "x")),
    Case(base("--=x")),
    # Short options (click already reads them as argparse does).
    Case(("--model-name", "m", "--handler", "h.py", "-v2.0")),
    Case(("--model-name", "m", "--handler", "h.py", "-fv", "2.0")),
    Case(base("-rreq.txt", "-c", "cfg.yaml")),
    Case(("--model-name", "m", "--handler", "h.py", "-version")),
    # Errors in both (the wording of the non-ambiguous ones is click's).
    Case(base("--serail", "w.pt")),
    Case(base("--model-names", "m")),
    Case(base("--for=yes")),
    Case(base("--", "--serial", "w.pt")),
    Case(("--model-n", "m")),
    # Ours: abbreviations of our own options, where upstream has no match at all.
    Case(base("--extra-files-l", "relative"), "ours", (("extra_files_layout", "relative"),)),
    Case(base("--extra-files-layout=relative"), "ours", (("extra_files_layout", "relative"),)),
    Case(base("--j", "3"), "ours", (("jobs", 3),)),
    # (--q is --quiet, an output option whose value goes to mar_tools.terminal.settings, not
    # to the command's parameters; test_abbreviation checks that --q expands to --quiet.)
    Case(base("--q", "--deb"), "ours", (("debug", True),)),
    # Ours: a value that starts with -- is a value (argparse: "expected one argument").
    Case(base("--extra-files", "--ser"), "ours", (("extra_files", "--ser"),)),
    Case(("--model-name", "m", "-v", "1", "--handler", "--ex"), "ours", (("handler", "--ex"),)),
    # ... and a prefix in a value's place is not resolved either, as =value never is.
    Case(base("--extra-files=--ex")),
)


@dataclass(frozen=True)
class Verdict:
    """What a parser made of a command line: values, or an exit code and its message."""

    exit: int | None
    message: str = ""
    values: tuple[tuple[str, Any], ...] = ()

    @property
    def kind(self) -> str:
        return {None: "parsed", 0: "help"}.get(self.exit, "error")

    def show(self) -> str:
        if self.exit is None:
            return "parsed"
        return "exit 0 (help)" if self.exit == 0 else f"error: {self.message}"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Upstream's verdicts on every case (in CASES order) and its parser's long options."""
    try:
        python = venv_bin(archiver_venv(), "python")
    except UpstreamUnavailable as exc:
        pytest.skip(f"upstream torch-model-archiver unavailable: {exc}")
    done = subprocess.run(
        [str(python), "-c", UPSTREAM_SCRIPT],
        input=json.dumps([list(case.argv) for case in CASES]),
        cwd=tmp_path_factory.mktemp("upstream-cwd"),
        capture_output=True,
        text=True,
        check=True,
    )
    yield json.loads(done.stdout)


def upstream_verdict(raw: dict[str, Any]) -> Verdict:
    values = raw.get("values", {})
    return Verdict(raw["exit"], raw.get("message", ""), tuple(sorted(values.items())))


def our_verdict(argv: tuple[str, ...]) -> tuple[Verdict, dict[str, Any]]:
    """Our parser's verdict on *argv* (nothing is built), and all of our parsed values."""
    try:
        with redirect_stdout(io.StringIO()):
            ctx = command.make_context(PROG, list(argv))
    except click.exceptions.Exit as exc:
        return Verdict(exc.exit_code), {}
    except click.UsageError as exc:
        return Verdict(exc.exit_code, exc.format_message()), {}
    params = dict(ctx.params)
    return Verdict(None, values=tuple(sorted((key, params[key]) for key in FIELDS))), params


def test_upstreams_long_options_are_the_first_tier(upstream: dict[str, Any]) -> None:
    assert tuple(upstream["long_options"]) == UPSTREAM_LONG_OPTIONS


@pytest.mark.parametrize("index", range(len(CASES)), ids=[" ".join(c.argv) for c in CASES])
def test_abbreviations_parse_as_upstreams_argparse(index: int, upstream: dict[str, Any]) -> None:
    case = CASES[index]
    theirs = upstream_verdict(upstream["verdicts"][index])
    ours, params = our_verdict(case.argv)
    if case.relation == "ours":
        assert theirs.kind == "error", theirs
        assert ours.kind == "parsed", ours
        assert {key: params[key] for key, _ in case.ours} == dict(case.ours)
        return
    assert ours.kind == theirs.kind, (theirs, ours)
    assert ours.values == theirs.values
    if theirs.message.startswith("ambiguous option"):
        assert ours.message == theirs.message
    assert (ours.exit or 0) == (theirs.exit or 0)
