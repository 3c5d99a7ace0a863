"""``kill -9`` at random moments of archiver builds and of ``mar run`` extractions.

However a build or an extraction is killed, the output is the old one or the complete new
one, never part of it, and once the next command has run to its end no temporary is left:
archives are staged unnamed (nothing to leave), directories under locked names that the
next write sweeps. Each loop measures an uninterrupted run first, then kills the command
after a random delay of up to 1.25 times that, until it has killed *kills* commands (the runs
that finish first must leave nothing at all). The seeds are fixed, so a failure replays.

Used by ``tests/test_kill_loop.py`` (in CI) and ``benchmarks/kill_loop.py`` (long runs).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.run.support import extraction_name
from tests.run.support import published as extracted

ARCHIVER = [sys.executable, "-m", "torch_model_archiver"]
MAR = [sys.executable, "-m", "mar_tools"]
FORMATS = {"default": "m.mar", "tgz": "m.tar.gz", "no-archive": "m"}


@dataclass(frozen=True)
class LoopResult:
    """How a loop went: commands killed, commands started, seconds taken."""

    kills: int
    runs: int
    seconds: float


def tree(root: Path) -> dict[str, str]:
    """Relative name -> SHA-256 of every file under *root* (the path itself if a file)."""
    if root.is_file():
        return {"": hashlib.sha256(root.read_bytes()).hexdigest()}
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def temporaries(directory: Path) -> list[str]:
    """The temporaries (``*.partial``) in *directory*."""
    if not directory.exists():
        return []
    return sorted(path.name for path in directory.iterdir() if path.name.endswith(".partial"))


def kill_at(
    argv: Sequence[str], env: dict[str, str], cwd: Path, delay: float
) -> tuple[bool, int, str]:
    """Run *argv*; ``kill -9`` it after *delay* seconds if still running. Returns (killed,
    exit status, what it wrote to stderr)."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            process.wait(timeout=delay)
            killed = False
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed = True
        errors.seek(0)
        return killed, process.returncode, errors.read().decode(errors="replace")


def timed(argv: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds one uninterrupted run of *argv* takes (it must succeed)."""
    started = time.monotonic()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    return time.monotonic() - started


def archiver_loop(scratch: Path, kills: int, max_runs: int, size: int = 8 << 20) -> LoopResult:
    """Kill builds of every format (``-f``, over the previous output) until *kills* were
    killed; assert the invariants after each (see the module docstring)."""
    started = time.monotonic()
    model = scratch / "model"
    model.mkdir()
    (model / "handler.py").write_text("def handle(data, context):\n    return data\n")
    (model / "w.bin").write_bytes(random.Random(11).randbytes(size))
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "PYTHONPATH": str(Path.cwd())}
    out = scratch / "out"
    out.mkdir()

    def build(fmt: str) -> list[str]:
        return [*ARCHIVER, "--model-name", "m", "--handler", "handler.py", "-v", "1",
                "--serialized-file", "w.bin", "--export-path", str(out), "-f",
                "--archive-format", fmt]  # fmt: skip

    reference: dict[str, dict[str, str]] = {}
    took: dict[str, float] = {}
    for fmt, name in FORMATS.items():
        took[fmt] = timed(build(fmt), env, model)
        reference[fmt] = tree(out / name)
    rng = random.Random(2026)
    killed_count = runs = 0
    while killed_count < kills and runs < max_runs:
        runs += 1
        fmt = list(FORMATS)[runs % len(FORMATS)]
        killed, status, stderr = kill_at(build(fmt), env, model, rng.uniform(0, 1.25 * took[fmt]))
        killed_count += killed
        # The output is the previous complete build or this one: never a part.
        assert tree(out / FORMATS[fmt]) == reference[fmt], (runs, fmt, killed)
        if not killed:
            assert status == 0, (runs, fmt, stderr)
            assert temporaries(out) == [], (runs, fmt)
    subprocess.run(build("default"), cwd=model, env=env, check=True)  # the next command
    assert temporaries(out) == []
    assert sorted(path.name for path in out.iterdir()) == sorted(FORMATS.values())
    return LoopResult(killed_count, runs, time.monotonic() - started)


def extraction_loop(scratch: Path, kills: int, max_runs: int, size: int = 16 << 20) -> LoopResult:
    """Kill ``mar run`` (one run in four with ``--no-cache``) while it extracts, until
    *kills* were killed; assert the invariants after each (see the module docstring)."""
    started = time.monotonic()
    archive = scratch / "model.mar"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as writer:
        writer.writestr(
            "MAR-INF/MANIFEST.json",
            '{"runtime": "python", "model": {"modelName": "m", "handler": "h.py"}}',
        )
        writer.writestr("h.py", "def handle(data, context):\n    return [len(data or [])]\n")
        writer.writestr("weights.bin", random.Random(5).randbytes(size))
    name = extraction_name(archive)
    root = scratch / "cache" / "extracted" / "v2"
    temp = scratch / "tmp"
    temp.mkdir()
    env = {**os.environ, "MAR_CACHE_DIR": str(scratch / "cache"), "TMPDIR": str(temp)}
    env.pop("MAR_DEBUG", None)
    run = [*MAR, "run", str(archive), "--data", "x"]
    took = timed(run, env, scratch)
    reference = tree(root / name)
    rng = random.Random(2027)
    killed_count = runs = 0
    while killed_count < kills and runs < max_runs:
        runs += 1
        no_cache = runs % 4 == 3
        # Forget the extraction (not the leftovers): this run has to extract again.
        shutil.rmtree(root / name, ignore_errors=True)
        shutil.rmtree(root / "index", ignore_errors=True)
        argv = [*run, "--no-cache"] if no_cache else run
        killed, status, stderr = kill_at(argv, env, scratch, rng.uniform(0, 1.25 * took))
        killed_count += killed
        published = [path.name for path in extracted(root)]
        assert published in ([], [name]), (runs, published)
        if published:
            assert tree(root / published[0]) == reference, runs
        if not killed:
            assert status == 0, (runs, stderr)
            # A run sweeps what it uses: every run the temporary directory, a cached run
            # the cache too (a --no-cache run never touches the cache).
            left = ([] if no_cache else temporaries(root), temporaries(temp))
            assert left == ([], []), (runs, no_cache, left, _holders(root, temp))
            assert published == ([] if no_cache else [name]), runs
    subprocess.run(run, env=env, check=True, capture_output=True)  # the next command
    assert temporaries(root) == [] and list(temp.iterdir()) == [], _holders(root, temp)
    return LoopResult(killed_count, runs, time.monotonic() - started)


def _holders(*directories: Path) -> list[str]:
    """Which live processes have files under *directories* open (Linux), to explain a
    temporary that was not swept."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = str(fd.readlink())
                if any(target.startswith(str(d)) for d in directories):
                    found.append(
                        f"{proc.name}: {target} ({(proc / 'cmdline').read_bytes()[:80]!r})"
                    )
        except OSError:
            continue
    return found
