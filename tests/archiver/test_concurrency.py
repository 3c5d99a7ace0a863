"""Builds running at the same time, as real processes, do not interfere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.archiver.outputs import MANIFEST, entries, write

COMMAND = [sys.executable, "-m", "torch_model_archiver", "--model-name", "same", "-v", "1"]


def start(model_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path.cwd()), "MAR_DEFLATE_BACKEND": "zlib"}
    return subprocess.Popen(
        [*COMMAND, *args],
        cwd=model_dir,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[str]) -> None:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert (out, err) == ("", "")


def test_same_model_name_to_different_export_paths(model_dir: Path) -> None:
    """Upstream stages both in /tmp/<model-name>, so they corrupt each other."""
    write(model_dir / "one" / "data.bin", os.urandom(6 << 20))
    write(model_dir / "two" / "data.bin", bytes(6 << 20))
    write(model_dir / "one" / "handler.py", "ONE = 1\n")
    write(model_dir / "two" / "handler.py", "TWO = 2\n")
    for fmt in ("default", "tgz", "no-archive"):
        first = start(
            model_dir / "one",
            "--handler",
            "handler.py",
            "--extra-files",
            "data.bin",
            "--export-path",
            "../store-one",
            "--archive-format",
            fmt,
            "-f",
        )
        second = start(
            model_dir / "two",
            "--handler",
            "handler.py",
            "--extra-files",
            "data.bin",
            "--export-path",
            "../store-two",
            "--archive-format",
            fmt,
            "-f",
        )
        finish(first)
        finish(second)
        for side in ("one", "two"):
            output = next((model_dir / f"store-{side}").iterdir())
            found = entries(output)
            assert sorted(found) == [MANIFEST, "data.bin", "handler.py"]
            assert found["data.bin"] == (model_dir / side / "data.bin").read_bytes()
            assert found["handler.py"] == (model_dir / side / "handler.py").read_bytes()
            if output.is_dir():
                shutil.rmtree(output)
            else:
                output.unlink()


def test_same_target_twice_with_force_gives_one_complete_archive(model_dir: Path) -> None:
    write(model_dir / "data.bin", os.urandom(6 << 20))
    builds = [
        start(model_dir, "--handler", "handler.py", "--extra-files", "data.bin", "-f")
        for _ in range(3)
    ]
    for process in builds:
        finish(process)
    found = entries(model_dir / "same.mar")
    assert found["data.bin"] == (model_dir / "data.bin").read_bytes()
    assert [p.name for p in model_dir.iterdir() if ".tma-" in p.name] == []
