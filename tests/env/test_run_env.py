"""End to end through ``mar run``: the worker runs in the model's cached environment."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
from pathlib import Path

from tests.env.conftest import MAR, PipLog
from tests.env.models import make_model

OFFLINE_PIP = ("--installer", "pip", "--pip-option=--no-index")
#: A function handler (TorchServe calls it once with data None at load).
HANDLER = """\
import importlib.metadata, sys
import greet, torch, tqdm


def handle(data, context):
    if data is None:
        return None
    seen = [greet.MESSAGE, tqdm.__version__, importlib.metadata.version("torch"), sys.prefix]
    return [" | ".join(seen) for _ in data]
"""


def run_mar(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    return subprocess.run([str(MAR), *args], capture_output=True, text=True, env=env, check=False)


def test_mar_run_uses_the_models_environment_and_reuses_it(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    root = tmp_path / "model"
    root.mkdir()
    for wheel in ("greet-1.0-py3-none-any.whl", "tqdm-0.0.1-py3-none-any.whl"):
        shutil.copy(wheels / wheel, root / wheel)
    model = make_model(
        root,
        name="greeter",
        requirements="./greet-1.0-py3-none-any.whl\n./tqdm-0.0.1-py3-none-any.whl\ntorch>=2\n",
        files={"handler.py": HANDLER},
    )
    archive = model.archive(tmp_path / "greeter.mar")

    first = run_mar("run", str(archive), "-d", "hi", *OFFLINE_PIP)
    second = run_mar("run", str(archive), "-d", "hi", *OFFLINE_PIP)

    assert first.returncode == 0, first.stderr
    env_dirs = [p for p in (cache_dir / "envs").iterdir() if not p.name.startswith(".")]
    assert len(env_dirs) == 1
    torch_version = importlib.metadata.version("torch")
    assert first.stdout == f"hello from greet | 0.0.1 | {torch_version} | {env_dirs[0]}"
    assert second.returncode == 0 and second.stdout == first.stdout
    assert pip_log.calls() == 1  # built by the first run only
    assert second.stderr == f"mar: using the cached environment {env_dirs[0]}\n"


def test_mar_run_exits_5_when_the_environment_cannot_be_built(
    tmp_path: Path, cache_dir: Path
) -> None:
    model = make_model(tmp_path / "model", name="broken", requirements="no-such-package==1.0\n")
    archive = model.archive(tmp_path / "broken.mar")

    done = run_mar("run", str(archive), "-d", "hi", *OFFLINE_PIP)

    assert done.returncode == 5 and done.stdout == ""
    assert (
        "mar: error: installing requirements.txt for model broken with virtualenv + pip failed: "
        "no version of no-such-package==1.0 could be found.\n"
    ) in done.stderr
    assert "Traceback" not in done.stderr
    assert [p for p in (cache_dir / "envs").iterdir() if not p.name.startswith(".")] == []
