"""The installed ``torch-model-archiver`` console script, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.archiver.outputs import MANIFEST, entries

SCRIPT = str(Path(sys.executable).parent / "torch-model-archiver")


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "NO_COLOR": "1"}
    environment.pop("SOURCE_DATE_EPOCH", None)
    environment.update(env or {})
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )


def test_build_then_refuse_then_force(model_dir: Path) -> None:
    args = ["--model-name", "m", "--handler", "handler.py", "-v", "1.0", "--extra-files", "extra"]
    done = run(*args, cwd=model_dir)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert sorted(entries(model_dir / "m.mar")) == [
        ".env",
        MANIFEST,
        "a.txt",
        "handler.py",
        "sub/b.txt",
    ]
    again = run(*args, cwd=model_dir)
    assert again.returncode == 1
    assert again.stderr.startswith(f"torch-model-archiver: error: {model_dir / 'm.mar'} already")
    assert run(*args, "-f", cwd=model_dir).returncode == 0


def test_usage_error_exits_2_without_traceback(model_dir: Path) -> None:
    done = run("--model-name", "m", cwd=model_dir)
    assert done.returncode == 2
    assert done.stderr == (
        "torch-model-archiver: error: missing options: --handler, -v / --version.\n"
        "hint: see 'torch-model-archiver --help'.\n"
    )
    assert "Traceback" not in done.stderr


def test_missing_input_exits_1_with_one_message(model_dir: Path) -> None:
    done = run("--model-name", "m", "--handler", "gone.py", "-v", "1", cwd=model_dir)
    assert done.returncode == 1
    assert done.stderr == (
        "torch-model-archiver: error: cannot build m.mar: --handler gone.py: no such file\n"
        f"hint: relative paths are read from {model_dir}.\n"
    )


def test_module_entry_point_and_tool_version(model_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "torch_model_archiver", "--tool-version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("torch-model-archiver ")
    assert "writes torch-model-archiver 0.12.0 archives" in done.stdout


def test_a_build_never_imports_torch_and_help_stays_light(model_dir: Path) -> None:
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['torch-model-archiver', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('torch_model_archiver', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'rich.progress', 'yaml',\n"
        "                           'torch_model_archiver.builder') if m in sys.modules)\n"
        "print(code, heavy)\n"
    )
    build = subprocess.run(
        [sys.executable, "-c", probe, "--model-name", "m", "--handler", "handler.py", "-v", "1"],
        cwd=model_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert build.stdout == "0 ['torch_model_archiver.builder']\n"
    helped = subprocess.run(
        [sys.executable, "-c", probe, "--help"],
        cwd=model_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert helped.stdout.endswith("0 []\n")


def test_source_date_epoch_from_the_environment(model_dir: Path) -> None:
    done = run(
        "--model-name",
        "m",
        "--handler",
        "handler.py",
        "-v",
        "1",
        cwd=model_dir,
        env={"SOURCE_DATE_EPOCH": "0"},
    )
    assert done.returncode == 0
    assert json.loads(entries(model_dir / "m.mar")[MANIFEST])["createdOn"] == "01/01/1970 00:00:00"
