"""Our command-line tools as the suite runs them: installed console scripts, real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def our_tool(name: str) -> Path:
    """Console script *name* (``mar``, ``torch-model-archiver``) beside the test interpreter."""
    return Path(sys.executable).with_name(name)


def run_mar(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: bytes | None = None,
    timeout: float = 300.0,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``mar *args`` to completion; stdout and stderr are captured as bytes."""
    return subprocess.run(
        [str(our_tool("mar")), *args],
        input=stdin,
        capture_output=True,
        env=dict(env),
        timeout=timeout,
        check=False,
    )


def describe(done: subprocess.CompletedProcess[bytes]) -> str:
    """The command, its exit code and its output, for assertion messages."""
    argv = done.args if isinstance(done.args, list) else [str(done.args)]
    return (
        f"$ {' '.join(map(str, argv))}\nexit {done.returncode}\n"
        f"--- stdout ---\n{done.stdout.decode(errors='replace')}\n"
        f"--- stderr ---\n{done.stderr.decode(errors='replace')}"
    )


@dataclass(frozen=True)
class Validation:
    """One ``mar validate --format json`` run over several archives."""

    exit_code: int
    archives: Mapping[str, Mapping[str, Any]]
    transcript: str

    def verdict(self, path: Path) -> Mapping[str, Any]:
        """The report for *path* (``valid``, ``findings``...); KeyError if it is missing."""
        return self.archives[str(path)]


def validate(paths: Sequence[Path], env: Mapping[str, str]) -> Validation:
    """Run ``mar validate --format json`` once on every path (one process: ~0.3 s each saved).

    Raises ``AssertionError`` with the transcript when the output is not the JSON report.
    """
    done = run_mar(["validate", "--format", "json", *map(str, paths)], env)
    try:
        report = json.loads(done.stdout)
        archives = {entry["path"]: entry for entry in report["archives"]}
    except (ValueError, KeyError, TypeError) as error:
        raise AssertionError(f"no JSON report ({error}):\n{describe(done)}") from None
    return Validation(done.returncode, archives, describe(done))
