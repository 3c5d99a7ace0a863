"""The ``mar-validate`` hook of .pre-commit-hooks.yaml, run by the real pre-commit
(``pre-commit try-repo``) on a sample git repository: pre-commit installs this checkout into
its own environment (``language: python``), then passes the changed files to the hook."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.archiver.outputs import run_cli, write
from tests.project.conftest import ROOT, run_process

pytestmark = pytest.mark.slow

HANDLER = "def handle(data, context):\n    return data\n"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with a valid .mar, a valid and an invalid model directory and an
    unrelated file, all staged."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "sample"
    write(repo / "src" / "handler.py", HANDLER)
    monkeypatch.chdir(repo / "src")
    for name, fmt, out in (("good", "default", "store"), ("m2", "no-archive", "models")):
        done = run_cli(
            ["--model-name", name, "--handler", "handler.py", "-v", "1", "--export-path",
             f"../{out}", "--archive-format", fmt]
        )  # fmt: skip
        assert done.code == 0, done.stderr
    shutil.copytree(repo / "models" / "m2", repo / "models" / "m1")
    (repo / "models" / "m1" / "handler.py").write_text("def handle(data, context)\n")
    write(repo / "README.md", "# models\n")
    git(repo, "init", "--quiet")
    git(repo, "add", "--all")
    return repo


def try_repo(repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-cache"),
        PRE_COMMIT_COLOR="never",
        NO_COLOR="1",
        # try-repo commits the checkout's uncommitted changes into a shadow copy.
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    return run_process(
        [sys.executable, "-m", "pre_commit", "try-repo", ROOT, "mar-validate", *args], repo, env
    )


def hook_output(done: subprocess.CompletedProcess[str]) -> str:
    """What the hook printed: pre-commit's report after its ``- exit code: N`` line."""
    marker = "- exit code: 1\n\n"
    return done.stdout.split(marker, 1)[1] if marker in done.stdout else ""


def test_the_hook_definition() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "mar-validate"
    assert hook["entry"] == "mar validate --changed-files"
    assert hook["language"] == "python"


def test_try_repo_checks_the_archives_the_changed_files_belong_to(
    sample: Path, tmp_path: Path
) -> None:
    pytest.importorskip("pre_commit", reason="the dev group's pre-commit is not installed")
    failed = try_repo(sample, tmp_path, "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "mar validate" in failed.stdout and "Failed" in failed.stdout
    assert hook_output(failed) == (
        "models/m1 (directory): invalid (1 error)\n"
        "  error[handler.syntax-error] handler.py:1:26: expected ':'.\n"
        "    hint: Fix the syntax error at the given line.\n"
        "\n"
        "models/m2 (directory): valid\n"
        "\n"
        "store/good.mar (zip): valid\n"
        "\n"
        "3 archives checked: 2 valid, 1 invalid (1 error).\n"
        "\n"
    )
    # Only valid archives among the changed files (and a file that belongs to none): passes.
    passed = try_repo(
        sample, tmp_path, "--files", "README.md", "models/m2/handler.py", "store/good.mar"
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "mar validate" in passed.stdout and "Passed" in passed.stdout
