"""``mar validate`` without click (issue 15: start-up) prints the same bytes and exits with
the same code as the click command, for every command line it accepts, and hands every
other command line to click.

Each command line runs twice as a real ``mar`` process: as it comes (the hand parser of
:mod:`mar_tools.cli.validate_argv` takes it when it can) and with ``MAR_CLICK_ONLY=1`` (click
parses it); stdout, stderr, the exit code and any ``--output`` file must be equal, and the
first run must have imported click exactly when the command line is one for click.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mar_tools.cli.validate_argv import parse, wanted
from mar_tools.terminal import settings
from tests.validate.builders import evil_pickle, members, write_dir, write_zip

pytestmark = pytest.mark.slow

RUN = (
    "import sys\n"
    "from mar_tools.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "finally:\n"
    "    sys.stderr.write('click imported: %s' % ('click' in sys.modules))\n"
)

#: (case, argv after ``mar``, whether the hand parser takes it). ``{good}``, ``{warned}``,
#: ``{bad}``, ``{evil}``, ``{dir}`` and ``{out}`` name files of the test (see ``corpus``).
CASES: list[tuple[str, list[str], bool]] = [
    ("valid", ["validate", "{good}"], True),
    ("several, warnings", ["validate", "{good}", "{warned}", "{dir}"], True),
    ("errors", ["validate", "{bad}", "{good}"], True),
    ("unsafe pickle", ["validate", "{evil}"], True),
    ("json", ["validate", "--format", "json", "{bad}", "{warned}"], True),
    ("sarif", ["validate", "--format=sarif", "{bad}"], True),
    ("junit", ["validate", "{warned}", "--format", "junit", "{bad}"], True),
    ("github", ["validate", "--format", "github", "{bad}", "{warned}"], True),
    ("last format wins", ["validate", "--format", "json", "--format", "text", "{bad}"], True),
    ("output file", ["validate", "{bad}", "--format", "sarif", "-o", "{out}"], True),
    ("output text", ["validate", "{warned}", "--output={out}"], True),
    ("strict", ["validate", "--strict", "{warned}"], True),
    ("quick", ["validate", "--quick", "{bad}", "{evil}"], True),
    ("quiet verbose", ["validate", "-q", "{warned}", "-v", "-q"], True),
    ("colour", ["validate", "--color", "always", "{bad}", "{warned}"], True),
    ("colour never", ["validate", "--color=never", "--verbose", "--quiet", "{bad}"], True),
    ("select", ["validate", "--select", "path.trav,manifest", "--select=config", "{bad}"], True),
    ("ignore", ["validate", "--ignore", "path", "--ignore=config.type", "{bad}"], True),
    ("unknown code", ["validate", "--select", "zip.nope", "{good}"], True),
    ("bad output dir", ["validate", "-o", "{missing}/x.json", "{good}"], True),
    ("output onto input", ["validate", "-o", "{good}", "{good}"], True),
    ("list checks", ["validate", "--list-checks"], True),
    ("changed files", ["validate", "--changed-files", "{changed}", "{good}"], True),
    ("debug", ["validate", "--debug", "{bad}"], True),
    # Command lines for click: its messages and exit codes, unchanged.
    ("no path", ["validate"], False),
    ("missing path", ["validate", "{missing}"], False),
    ("unknown flag", ["validate", "--nope", "{good}"], False),
    ("bad format", ["validate", "--format", "xml", "{good}"], False),
    ("format without value", ["validate", "{good}", "--format"], False),
    ("flag with a value", ["validate", "--strict=yes", "{good}"], False),
    ("combined short flags", ["validate", "-qv", "{good}"], False),
    ("bad colour", ["validate", "--color", "red", "{good}"], False),
    ("output is a directory", ["validate", "-o", "{dir}", "{good}"], False),
    ("limit flag", ["validate", "--max-entries", "1", "{good}"], False),
    ("double dash", ["validate", "--", "{good}"], False),
    ("help", ["validate", "--help"], False),
    ("group option first", ["-q", "validate", "{good}"], False),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, weights: bytes) -> dict[str, str]:
    root = tmp_path_factory.mktemp("click-free")
    config = b"batchSize: '4'\n"
    bad = {**members(weights, model_config_yaml=config), "../evil": b"x"}
    model_dir = write_dir(root / "model", members(weights))
    changed = model_dir / "handler.py"
    return {
        "good": str(write_zip(root / "good.mar", members(weights))),
        "warned": str(write_zip(root / "warned.mar", members(weights, model_config_yaml=config))),
        "bad": str(write_zip(root / "bad.mar", bad)),
        "evil": str(write_zip(root / "evil.mar", members(evil_pickle(2)))),
        "dir": str(model_dir),
        "changed": str(changed),
        "missing": str(root / "missing"),
        "out": str(root / "out" / "report.txt"),
    }


def _run(argv: list[str], click_only: bool, out: Path) -> tuple[int, str, str, bool, bytes]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TERM": "xterm"}
    for name in ("MAR_CLICK_ONLY", "MAR_DEBUG", "FORCE_COLOR", "MAR_MAX_SIZE", "MAR_MAX_ENTRIES"):
        env.pop(name, None)
    if click_only:
        env["MAR_CLICK_ONLY"] = "1"
    out.parent.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", RUN, *argv], capture_output=True, env=env, check=False
    )
    stderr, _, imported = done.stderr.decode().rpartition("click imported: ")
    written = out.read_bytes() if out.exists() else b""
    return done.returncode, done.stdout.decode(), stderr, imported == "True", written


@pytest.mark.parametrize(("case", "argv", "taken"), CASES, ids=[case[0] for case in CASES])
def test_both_paths_print_the_same(
    corpus: dict[str, str], case: str, argv: list[str], taken: bool
) -> None:
    args = [arg.format(**corpus) for arg in argv]
    out = Path(corpus["out"])
    *fast, fast_click, fast_file = _run(args, click_only=False, out=out)
    *slow, slow_click, slow_file = _run(args, click_only=True, out=out)
    assert (fast, fast_file) == (slow, slow_file), case
    assert slow_click
    assert fast_click is not taken, "click imported" if taken else "click not used"


def test_the_cases_cover_every_outcome(corpus: dict[str, str]) -> None:
    """The corpus is not trivially equal: valid, invalid and usage errors all occur."""
    out = Path(corpus["out"])
    codes = {
        case: _run([arg.format(**corpus) for arg in argv], click_only=False, out=out)[0]
        for case, argv, _ in CASES
        if case in ("valid", "errors", "unknown code", "unsafe pickle")
    }
    assert codes == {"valid": 0, "errors": 1, "unknown code": 2, "unsafe pickle": 1}


def test_parse_reads_options_as_click_does(tmp_path: Path) -> None:
    archive = tmp_path / "a.mar"
    archive.write_bytes(b"")
    settings.reset()
    try:
        request = parse(
            ["-v", str(archive), "--select", "a,b", "--select=c", "--color", "never", "-q"]
        )
        assert request is not None
        assert (request.paths, request.select, request.output_format) == (
            (archive,),
            ("a,b", "c"),
            "text",
        )
        # -v first, then -q (first appearances), as click orders eager options.
        assert settings.current() == settings.OutputSettings(quiet=True, color="never")
    finally:
        settings.reset()
    assert parse(["--select", "-x", str(archive)]) is None  # click would take "-x"
    assert parse([str(archive), "-o", ""]) is None
    assert parse(["--format", "json"]) is None  # no PATH: click's usage error


def test_the_environment_can_turn_it_off() -> None:
    assert wanted({})
    assert wanted({"MAR_CLICK_ONLY": "0"})
    assert not wanted({"MAR_CLICK_ONLY": "1"})
    assert not wanted({"MAR_MAX_SIZE": "1G"})
    assert not wanted({"_MAR_COMPLETE": "bash_complete"})


def _closed_stdout(argv: list[str], click_only: bool) -> tuple[int, bytes]:
    env = {**os.environ, "NO_COLOR": "1", "MAR_CLICK_ONLY": "1" if click_only else "0"}
    # The read end closes before the child writes: its first write meets a closed pipe.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mar_tools", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
    finally:
        os.close(write)
    return done.returncode, done.stderr


@pytest.mark.parametrize("argv", [["--list-checks"], ["--format", "json", "{bad}"]])
def test_a_closed_pipe_ends_both_paths_alike(corpus: dict[str, str], argv: list[str]) -> None:
    args = ["validate", *(arg.format(**corpus) for arg in argv)]
    fast = _closed_stdout(args, click_only=False)
    assert fast == _closed_stdout(args, click_only=True)
    assert fast == (1, b"")  # click's ending: exit 1, no traceback


INTERRUPTED = """\
import sys
import click
from mar_tools.terminal.boundary import run_command
from mar_tools.terminal.guard import guarded
from mar_tools.terminal.plain_output import run_like_click

def stop():
    raise {error}

if sys.argv[1] == "click":
    code = run_command(click.command("validate")(stop), [], "mar")
else:
    code = guarded(lambda: run_like_click(stop), [], "mar")
sys.exit(code)
"""


@pytest.mark.parametrize("error", ["KeyboardInterrupt", "EOFError"])
def test_an_interrupt_ends_both_paths_alike(error: str) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    script = INTERRUPTED.format(error=error)
    ends = [
        subprocess.run(
            [sys.executable, "-c", script, way], capture_output=True, env=env, check=False
        )
        for way in ("click", "plain")
    ]
    assert [(end.returncode, end.stdout, end.stderr) for end in ends] == [
        (130, b"", b"\nmar: error: interrupted.\n")
    ] * 2
