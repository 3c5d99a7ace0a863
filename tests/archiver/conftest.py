"""Fixtures for the archiver tests: an isolated environment, a model directory on disk (the
current directory during the test) and the Java ZipInputStream reader, compiled once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.archiver.outputs import JAVA_SOURCE, write


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.delenv("MAR_DEFLATE_BACKEND", raising=False)
    monkeypatch.setenv("MAR_CACHE_DIR", str(tmp_path / "mar-cache"))


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory holding a typical model's files; the current directory during the test."""
    root = tmp_path / "model"
    write(root / "handler.py", "def handle(data, context):\n    return data\n")
    write(root / "my_handler.py", "def fn(data, context):\n    return data\n")
    write(root / "model.py", "class Model:\n    pass\n")
    write(root / "weights.pt", os.urandom(200_000))
    write(root / "index_to_name.json", '{"0": "cat", "1": "dog"}\n')
    write(root / "requirements.txt", "numpy\n")
    write(root / "model-config.yaml", "batchSize: 2\n")
    write(root / "extra" / "a.txt", "a\n")
    write(root / "extra" / "sub" / "b.txt", "b\n")
    write(root / "extra" / ".hidden" / "h", "h\n")
    write(root / "extra" / "__pycache__" / "x.pyc", b"\x00pyc")
    write(root / "extra" / ".env", "SECRET=1\n")
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="session")
def java_reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """``java -cp <dir> MarReader`` compiled once, or a skip where no JDK is installed."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK (javac/java) on this machine")
    classes = tmp_path_factory.mktemp("java")
    subprocess.run(["javac", "-d", str(classes), str(JAVA_SOURCE)], check=True)
    yield ["java", "-cp", str(classes), "MarReader"]
