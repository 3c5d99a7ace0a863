"""Fixtures for the environment tests: an isolated cache, a record of every pip call, and
local wheels (the tests never reach a package index: installs run with ``--no-index``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mar_tools.core.interpreter import Interpreter
from mar_tools.core.model_files import ModelFiles
from mar_tools.core.model_source import read_model
from mar_tools.core.reporter import SilentReporter
from mar_tools.env import EnvOptions, prepare_environment
from tests.support.wheels import write_wheel

MAR = Path(sys.executable).with_name("mar")
OFFLINE = ("--no-index",)


@dataclass(frozen=True)
class PipLog:
    """pip appends a debug log of every invocation to ``$PIP_LOG``; each starts with
    "Using pip", so counting those lines counts pip calls, from any process."""

    path: Path

    def calls(self) -> int:
        if not self.path.exists():
            return 0
        return sum(1 for line in self.path.read_text().splitlines() if " Using pip " in line)


@pytest.fixture(autouse=True, scope="session")
def _isolated_tool_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """uv's package cache in a temp dir, so the tests neither read nor fill the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_CACHE_DIR", str(tmp_path_factory.mktemp("uv-cache")))
        patch.setenv("NO_COLOR", "1")
        patch.delenv("MAR_CACHE_DIR", raising=False)
        yield


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh mar cache, also exported as ``$MAR_CACHE_DIR`` for subprocesses."""
    path = tmp_path / "mar-cache"
    monkeypatch.setenv("MAR_CACHE_DIR", str(path))
    return path


@pytest.fixture
def pip_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PipLog:
    path = tmp_path / "pip-calls.log"
    monkeypatch.setenv("PIP_LOG", str(path))
    return PipLog(path)


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of small wheels shared by the tests (copied into models as needed)."""
    root = tmp_path_factory.mktemp("wheels")
    write_wheel(root, "greet", "1.0", {"greet/__init__.py": "MESSAGE = 'hello from greet'\n"})
    write_wheel(
        root,
        "needs-torch",
        "1.0",
        {"needs_torch/__init__.py": "import torch\nVERSION = torch.__version__\n"},
        requires=["torch>=1.0"],
    )
    write_wheel(
        root, "wants-new-torch", "1.0", {"wants_new_torch/__init__.py": ""}, requires=["torch>=99"]
    )
    # Same name as a package in the launching .venv (tqdm), a version nobody has.
    write_wheel(root, "tqdm", "0.0.1", {"tqdm/__init__.py": "__version__ = '0.0.1'\n"})
    write_wheel(root, "uses-tqdm", "1.0", {"uses_tqdm/__init__.py": ""}, requires=["tqdm"])
    write_wheel(
        root,
        "hello-cli",
        "1.0",
        {"hello_cli.py": "import sys\ndef main():\n    print('hello from', sys.prefix)\n"},
        scripts={"hello-cli": "hello_cli:main"},
    )
    return root


def options(installer: str = "pip", **kwargs: object) -> EnvOptions:
    """Offline options for *installer* (tests never reach an index)."""
    return EnvOptions(installer=installer, pip_options=OFFLINE, **kwargs)  # type: ignore[arg-type]


def env_python(python: Path, code: str, extra_env: dict[str, str] | None = None) -> str:
    """Run *code* with *python* (as a worker would) and return its stdout."""
    env = {**os.environ, **(extra_env or {})}
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class _LogReporter(SilentReporter):
    """Passes each info message to *log* too."""

    def __init__(self, log: Callable[[str], None]) -> None:
        super().__init__()
        self._log = log

    def info(self, message: str) -> None:
        super().info(message)
        self._log(message)


def prepare_in(
    model_dir: Path, env_options: EnvOptions, log: Callable[[str], None] = lambda _m: None
) -> Interpreter:
    """The interpreter ``mar run`` would choose for the model directory *model_dir*; its
    progress messages go to *log*."""
    model = read_model(ModelFiles.directory(model_dir), str(model_dir))
    return prepare_environment(model, model_dir, env_options, _LogReporter(log))
