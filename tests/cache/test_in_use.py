"""A real ``mar run`` keeps its extraction and its environment, and a real ``mar serve`` the
extraction of every model it serves: ``mar cache`` never removes them while they run, and
does once they have exited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cache.support import mar
from tests.run.support import build_archive, manifest, mar_env, source
from tests.support.mar_serve import MarServe

pytestmark = pytest.mark.slow  # builds a virtualenv and runs a worker: a few seconds


def _entries(cache: Path) -> list[tuple[str, bool]]:
    listed = json.loads(mar("cache", "list", "--json", cache=cache).stdout)
    return [(entry["kind"], entry["in_use"]) for entry in listed]


def test_prune_and_clean_skip_what_a_running_mar_run_uses(tmp_path: Path) -> None:
    started = tmp_path / "started"
    handler = source(
        f"""
        import pathlib, time

        def handle(data, context):
            pathlib.Path({str(started)!r}).write_text("yes")
            time.sleep(120)
            return data
        """
    )
    archive = build_archive(tmp_path / "slow", {"slow.py": handler}, manifest("slow.py"))
    cache = tmp_path / "cache"
    run = subprocess.Popen(
        [sys.executable, "-m", "mar_tools", "run", str(archive), "--data", "x", "--env", "venv"],
        env=mar_env(cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert run.poll() is None, run.stderr.read() if run.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert sorted(_entries(cache)) == [("archive", True), ("environment", True)]

        pruned = mar("cache", "prune", "--max-size", "0", cache=cache)
        cleaned = mar("cache", "clean", "--yes", cache=cache)
        for done in (pruned, cleaned):
            lines = done.stdout.splitlines()
            assert done.returncode == 0, done.stderr
            assert [line.split(" ")[:2] for line in lines[:2]] == [
                ["skipped", "archive"],
                ["skipped", "environment"],
            ]
            assert all(line.endswith(": a running command uses it") for line in lines[:2])
            assert lines[-1].startswith("Removed 0 entries, freed 0 B; ")
        assert sorted(_entries(cache)) == [("archive", True), ("environment", True)]
    finally:
        run.terminate()
        run.wait(timeout=60)
    # The worker dies with mar run (its lifeline); then nothing holds the entries.
    deadline = time.monotonic() + 60
    while any(in_use for _, in_use in _entries(cache)):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    cleaned = mar("cache", "clean", "--yes", cache=cache)
    assert cleaned.stdout.splitlines()[-1].startswith("Removed 2 entries, freed ")
    assert _entries(cache) == []


def test_clean_skips_what_a_running_mar_serve_serves(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    handler = "def handle(data, context):\n    return data and [1 for _ in data]\n"
    build_archive(store / "echo", {"handler.py": handler}, manifest("handler.py", name="echo"))
    cache = tmp_path / "cache"
    env = {**os.environ, "MAR_CACHE_DIR": str(cache)}
    with MarServe.start(
        tmp_path / "home", model_store=store, args=["--models", "echo=echo.mar"], env=env
    ):
        assert _entries(cache) == [("archive", True)]
        cleaned = mar("cache", "clean", "--yes", cache=cache)
        assert cleaned.stdout.splitlines()[0].startswith(
            ("skipped archive blake3-", "skipped archive sha256-")
        )
        assert _entries(cache) == [("archive", True)]
    assert _entries(cache) == [("archive", False)]
    cleaned = mar("cache", "clean", "--yes", cache=cache)
    assert cleaned.stdout.splitlines()[-1].startswith("Removed 1 entry, freed ")
    assert _entries(cache) == []
