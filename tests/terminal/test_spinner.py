"""The spinner of long first-time work (building an environment, extracting a large archive):
drawn on a terminal with the current step, absent without one and with ``-q``.

Each case runs ``mar`` for real, with a pseudo-terminal as its stderr where the case says so.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mar_tools.core.reporter import PROGRESS_THRESHOLD
from tests.run.support import build_archive, manifest, mar_env
from tests.support.terminal import run_in_terminal

pytestmark = pytest.mark.slow  # builds virtualenvs, extracts 64 MiB: a few seconds each

#: The frames of rich's default spinner ("dots").
FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ECHO = """\
def handle(data, context):
    return data and [row.get("data") or row.get("body") for row in data]
"""


def _mar(*args: str) -> list[str]:
    return [sys.executable, "-m", "mar_tools", *args]


def _piped(argv: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, env=mar_env(cache), check=False, timeout=300
    )


def _tty_env(cache: Path) -> dict[str, str]:
    """What a user at a terminal has (no ``TERM=dumb``, which turns progress off)."""
    return {**mar_env(cache), "TERM": "xterm"}


def _spins(text: str) -> bool:
    return any(frame in text for frame in FRAMES)


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``.mar`` just over the progress threshold (a stored blob of zeros)."""
    path = tmp_path_factory.mktemp("big") / "big.mar"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("MAR-INF/MANIFEST.json", manifest("echo.py", name="big"))
        archive.writestr("echo.py", ECHO)
        with archive.open("weights.bin", "w", force_zip64=False) as blob:
            chunk = bytes(1 << 20)
            for _ in range(PROGRESS_THRESHOLD >> 20):
                blob.write(chunk)
    assert path.stat().st_size >= PROGRESS_THRESHOLD
    return path


def test_building_an_environment_spins_with_its_step_on_a_terminal(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", {"echo.py": ECHO}, manifest("echo.py", name="demo"))
    cache = tmp_path / "cache"
    shown = run_in_terminal(_mar("env", "create", "--env", "venv", str(archive)), _tty_env(cache))
    assert shown.returncode == 0, shown.terminal
    assert shown.stdout.startswith(str(cache / "envs"))
    assert "creating the virtualenv for model demo" in shown.terminal and _spins(shown.terminal)
    # The messages are still there, each on its line.
    assert "mar: creating the environment for model demo (" in shown.terminal

    piped = _piped(_mar("env", "create", "--env", "venv", "--rebuild-env", str(archive)), cache)
    assert piped.returncode == 0, piped.stderr
    assert "mar: creating the environment for model demo (" in piped.stderr
    assert "creating the virtualenv" not in piped.stderr and not _spins(piped.stderr)


def test_mar_run_spins_while_it_builds_an_environment(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", {"echo.py": ECHO}, manifest("echo.py", name="demo"))
    cache = tmp_path / "cache"
    argv = _mar("run", str(archive), "--data", "x", "--env", "venv")
    shown = run_in_terminal(argv, _tty_env(cache))
    assert (shown.returncode, shown.stdout) == (0, "x"), shown.terminal
    assert "creating the virtualenv for model demo" in shown.terminal and _spins(shown.terminal)
    quiet = run_in_terminal([*argv, "-q", "--rebuild-env"], _tty_env(cache))
    assert (quiet.returncode, quiet.stdout) == (0, "x"), quiet.terminal
    assert "creating the virtualenv" not in quiet.terminal and not _spins(quiet.terminal)


def test_the_first_extraction_of_a_large_archive_spins(tmp_path: Path, big_archive: Path) -> None:
    argv = _mar("run", str(big_archive), "--data", "x")
    step = "extracting big.mar (first use)"

    quiet = run_in_terminal([*argv, "-q"], _tty_env(tmp_path / "quiet"))
    assert (quiet.returncode, quiet.stdout) == (0, "x"), quiet.terminal
    assert step not in quiet.terminal and not _spins(quiet.terminal)

    piped = _piped(argv, tmp_path / "piped")
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "x", "")

    cache = tmp_path / "shown"
    first = run_in_terminal(argv, _tty_env(cache))
    assert (first.returncode, first.stdout) == (0, "x"), first.terminal
    assert step in first.terminal and _spins(first.terminal)
    again = run_in_terminal(argv, _tty_env(cache))  # cached: nothing to wait for
    assert (again.returncode, again.stdout, again.terminal) == (0, "x", "")
    # Without the cache every run extracts.
    scratch = run_in_terminal([*argv, "--no-cache"], _tty_env(cache))
    assert (scratch.returncode, scratch.stdout) == (0, "x"), scratch.terminal
    assert "extracting big.mar" in scratch.terminal and _spins(scratch.terminal)


def test_a_small_archive_never_spins(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", {"echo.py": ECHO}, manifest("echo.py"))
    shown = run_in_terminal(_mar("run", str(archive), "--data", "x"), _tty_env(tmp_path / "c"))
    assert (shown.returncode, shown.stdout, shown.terminal) == (0, "x", "")
