"""``torch-model-archiver`` without click (issue 15: start-up) builds the same archive, prints
the same bytes and exits with the same code as the click command, for every command line it
accepts, and hands every other command line to click.

Each command line runs twice as a real process: as it comes (the hand parser of
:mod:`torch_model_archiver.cli.argv` takes it when it can) and with ``MAR_CLICK_ONLY=1``
(click parses it); stdout, stderr, the exit code and every file written under the export
directory must be equal, and the first run must have imported click exactly when the command
line is one for click.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mar_tools.terminal import settings
from tests.archiver.outputs import write
from torch_model_archiver.cli.argv import parse, wanted
from torch_model_archiver.cli.command import PROG, command

pytestmark = pytest.mark.slow

RUN = (
    "import sys\n"
    "from torch_model_archiver.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "finally:\n"
    "    sys.stderr.write('click imported: %s' % ('click' in sys.modules))\n"
)

BASE = ["--model-name", "m", "--handler", "handler.py", "-v", "1.0", "--export-path", "out"]

FULL = shlex.split(
    "--model-name m --serialized-file weights.pt --model-file model.py --handler my_handler.py:fn "
    "--extra-files index_to_name.json,extra --runtime python3 --export-path out --archive-format "
    "zip-store --force --version 2.0 --requirements-file requirements.txt --config-file "
    "model-config.yaml"
)
EQUALS = shlex.split(
    "--model-name=m --handler=handler.py --version=1.0 --export-path=out --archive-format=tgz "
    "--serialized-file=big.bin --runtime=LSP --extra-files=extra/a.txt "
    "--extra-files-layout=relative"
)

#: (case, argv, whether the hand parser takes it). Runs in the archiver tests' model directory
#: (see ``conftest.model_dir``), with ``big.bin`` (2 MiB and a bit: chunked) beside it.
CASES: list[tuple[str, list[str], bool]] = [
    ("minimal", BASE, True),
    ("current directory", ["--model-name", "m", "--handler", "handler.py", "-v", "1.0"], True),
    ("every upstream option in full", FULL, True),
    ("with equals signs", EQUALS, True),
    (
        "short aliases",
        [*BASE, "-r", "requirements.txt", "-c", "model-config.yaml", "-f", "-j", "2", "-q"],
        True,
    ),
    ("no archive", [*BASE, "--archive-format", "no-archive", "--extra-files", "extra"], True),
    ("large weights", [*BASE, "--serialized-file", "big.bin", "--jobs", "3"], True),
    ("digest file", [*BASE, "--digest-file", "out/digest.txt", "--archive-format=tgz"], True),
    ("glob", [*BASE, "--extra-files", "*.json,extra/*.txt", "--extra-files-layout", "flat"], True),
    ("last value wins", ["--model-name", "x", *BASE, "--model-name", "m", "-v", "3"], True),
    ("quiet then verbose", [*BASE, "-q", "--verbose"], True),
    ("verbose then quiet", [*BASE, "--verbose", "--quiet", "--color", "always"], True),
    ("debug", [*BASE, "--debug"], True),
    # Errors raised by the build itself: one message, the same way in.
    ("missing input", [*BASE, "--serialized-file", "gone.pt", "--model-file", "nope.py"], True),
    ("invalid model name", ["--model-name", "no good", *BASE[2:]], True),
    ("output exists", [*BASE, "--model-name", "exists"], True),
    ("forced over an existing output", [*BASE, "--model-name", "exists", "-f"], True),
    ("digest file in a missing directory", [*BASE, "--digest-file", "nowhere/d.txt"], True),
    ("error in colour", [*BASE, "--handler", "gone.py", "--color=always"], True),
    ("error with --debug", [*BASE, "--handler", "gone.py", "--debug"], True),
    # Command lines for click: its messages and exit codes, unchanged.
    ("missing options", ["--model-name", "m"], False),
    ("one missing option", ["--model-name", "m", "--handler", "handler.py"], False),
    (
        "abbreviations",
        ["--model", "m", "--hand", "handler.py", "--vers", "1", "--export", "out"],
        False,
    ),
    ("ambiguous abbreviation", [*BASE, "--ex", "a"], False),
    ("unknown option", [*BASE, "--nope"], False),
    ("version without a value", ["--model-name", "m", "--handler", "handler.py", "-v"], False),
    ("value like an option", ["--model-name", "-m", *BASE[2:]], False),
    ("empty value", [*BASE, "--model-name", ""], False),
    ("empty value after =", [*BASE, "--serialized-file="], False),
    ("bad choice", [*BASE, "--archive-format", "zip"], False),
    ("bad runtime", [*BASE, "--runtime=java"], False),
    ("bad colour", [*BASE, "--color", "red"], False),
    ("jobs zero", [*BASE, "--jobs", "0"], False),
    ("jobs not a number", [*BASE, "-j", "two"], False),
    ("jobs with a sign", [*BASE, "--jobs", "+2"], False),
    ("combined short flags", [*BASE, "-fq"], False),
    ("attached short value", ["--model-name", "m", "--handler", "handler.py", "-v1.0"], False),
    ("short option with =", [*BASE, "-j=2"], False),
    ("flag with a value", [*BASE, "--force=yes"], False),
    ("positional argument", [*BASE, "handler.py"], False),
    ("double dash", [*BASE, "--"], False),
    ("help among options", [*BASE, "--help"], False),
    ("tool version", ["--tool-version"], False),
    ("nothing", [], False),
]


def _run(argv: list[str], cwd: Path, click_only: bool) -> tuple[int, str, str, bool]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TERM": "xterm"}
    for name in ("MAR_CLICK_ONLY", "MAR_DEBUG", "FORCE_COLOR", "MAR_DEFLATE_BACKEND"):
        env.pop(name, None)
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    if click_only:
        env["MAR_CLICK_ONLY"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", RUN, *argv], cwd=cwd, capture_output=True, env=env, check=False
    )
    stderr, _, imported = done.stderr.decode().rpartition("click imported: ")
    # What may differ: --verbose's summary ends with the build's duration, and --debug's
    # traceback shows the frames of the way in.
    stderr = re.sub(r", \d+\.\d s\)", ", N s)", stderr)
    stderr = re.sub(
        r"(?m)^(Traceback \(most recent call last\):\n)(?:  .*\n)+", r"\1  ...\n", stderr
    )
    return done.returncode, done.stdout.decode(), stderr, imported == "True"


def _outputs(model_dir: Path) -> dict[str, bytes]:
    """Every file the build wrote (or left): the export directory and ``m*`` outputs."""
    found = {}
    for path in sorted(model_dir.rglob("*")):
        name = path.relative_to(model_dir).as_posix()
        if path.is_file() and (name.startswith("out/") or name.startswith("m.")):
            found[name] = path.read_bytes()
    return found


def _fresh_outputs(model_dir: Path) -> None:
    shutil.rmtree(model_dir / "out", ignore_errors=True)
    for path in model_dir.glob("m.*"):
        path.unlink()
    write(model_dir / "out" / "exists.mar", b"an older build")


@pytest.fixture
def big_weights(model_dir: Path) -> Path:
    return write(model_dir / "big.bin", os.urandom((2 << 20) + 12345))


@pytest.mark.parametrize(("case", "argv", "taken"), CASES, ids=[case[0] for case in CASES])
def test_both_paths_print_and_build_the_same(
    model_dir: Path, big_weights: Path, case: str, argv: list[str], taken: bool
) -> None:
    _fresh_outputs(model_dir)
    *fast, fast_click = _run(argv, model_dir, click_only=False)
    fast_files = _outputs(model_dir)
    _fresh_outputs(model_dir)
    *slow, slow_click = _run(argv, model_dir, click_only=True)
    assert (fast, fast_files) == (slow, _outputs(model_dir)), case
    assert slow_click
    assert fast_click is not taken, "click imported" if taken else "click not used"


def test_the_cases_cover_every_outcome(model_dir: Path, big_weights: Path) -> None:
    """The corpus is not trivially equal: builds, bad input and usage errors all occur, and
    the builds write archives."""
    outcomes = {}
    for case, argv, _ in CASES:
        if case in ("minimal", "missing input", "output exists", "missing options"):
            _fresh_outputs(model_dir)
            outcomes[case] = _run(argv, model_dir, click_only=False)[0]
            if case == "minimal":
                assert set(_outputs(model_dir)) == {"out/exists.mar", "out/m.mar"}
    assert outcomes == {
        "minimal": 0,
        "missing input": 1,
        "output exists": 1,
        "missing options": 2,
    }


@pytest.mark.parametrize(
    "argv", [argv for _, argv, taken in CASES if taken], ids=[c for c, _, t in CASES if t]
)
def test_parse_gives_run_build_what_click_gives(argv: list[str]) -> None:
    """The options both ways hand to run_build are equal, and so are the output settings."""
    settings.reset()
    try:
        options = parse(argv)
        by_hand = settings.current()
        settings.reset()
        context = command.make_context(PROG, list(argv))
        assert (options, by_hand) == (context.params, settings.current())
    finally:
        settings.reset()


def test_parse_leaves_the_settings_alone_when_click_must_parse() -> None:
    settings.reset()
    assert parse(["--color", "never", "-q", "--model-name", "m"]) is None
    assert settings.current() == settings.OutputSettings()


def test_the_environment_can_turn_it_off() -> None:
    assert wanted({})
    assert wanted({"MAR_CLICK_ONLY": "0"})
    assert not wanted({"MAR_CLICK_ONLY": "1"})
    assert not wanted({"_TORCH_MODEL_ARCHIVER_COMPLETE": "bash_complete"})


def test_completion_is_clicks(model_dir: Path) -> None:
    env = {
        **os.environ,
        "_TORCH_MODEL_ARCHIVER_COMPLETE": "bash_complete",
        "COMP_WORDS": "torch-model-archiver --model-n",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN, *BASE], cwd=model_dir, capture_output=True, env=env
    )
    assert done.returncode == 0
    assert done.stdout.decode() == "plain,--model-name\n"
    assert done.stderr.decode() == "click imported: True"
