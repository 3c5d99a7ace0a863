"""Fixtures for the project-level tests: the sdist and the wheel, built once per session with
the real build backend (hatchling, through ``python -m build``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_process(
    argv: Sequence[str | Path], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run *argv* in *cwd* with text output captured; never raises for its exit code.

    *cwd* is explicit: from the checkout, ``python -c`` would import our packages from it
    instead of the installed ones.
    """
    return subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


@dataclass(frozen=True)
class Distributions:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    """The sdist, and the wheel built from it, as ``python -m build`` makes them.

    ``--no-isolation`` uses the dev environment's hatchling (the dev group has it), so no
    index is needed; the build itself is the release build.
    """
    pytest.importorskip("build", reason="the dev group's `build` is not installed")
    pytest.importorskip("hatchling", reason="the dev group's `hatchling` is not installed")
    out = tmp_path_factory.mktemp("dist")
    done = run_process(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT], cwd=out
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Distributions(sdist, wheel)
