"""The content digest after a build: ``--digest-file PATH`` writes it (the same for every
format, and what ``mar inspect --digest`` computes); on a terminal the summary shows it;
off a terminal, without the flag, the archiver prints nothing, as upstream."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from mar_tools.core.digest import archive_digest
from tests.archiver.outputs import run_cli

BASE = ["--model-name", "m1", "--handler", "handler.py", "-v", "1.0", "--serialized-file",
        "weights.pt", "-r", "requirements.txt", "--extra-files", "extra"]  # fmt: skip
FORMATS = ("default", "zip-store", "tgz", "no-archive")


def test_digest_file_in_every_format(model_dir: Path) -> None:
    found = set()
    for fmt in FORMATS:
        target = model_dir / f"{fmt}.digest"
        outcome = run_cli([*BASE, "--archive-format", fmt, "--export-path", fmt,
                           "--digest-file", str(target)])  # fmt: skip
        assert (outcome.code, outcome.stdout, outcome.stderr) == (0, "", "")
        written = target.read_text()
        output = next((model_dir / fmt).iterdir())
        assert written == archive_digest(output).value + "\n"
        found.add(written)
    assert len(found) == 1


def test_digest_file_in_a_missing_directory_fails_before_building(model_dir: Path) -> None:
    outcome = run_cli([*BASE, "--digest-file", "nowhere/d.txt"])
    assert outcome.code == 1
    assert outcome.stderr == (
        "torch-model-archiver: error: --digest-file nowhere/d.txt: the directory nowhere does "
        "not exist.\n"
    )
    assert not (model_dir / "m1.mar").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="pseudo-terminal test")
def test_the_summary_on_a_terminal_shows_the_digest(model_dir: Path) -> None:
    leader, follower = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "torch_model_archiver", *BASE],
        stderr=follower, stdout=subprocess.PIPE, env=env, check=True, timeout=120,
    )  # fmt: skip
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    lines = shown.decode().replace("\r", "").strip().splitlines()
    assert done.stdout == b""
    assert lines[-2].startswith(f"Wrote {model_dir / 'm1.mar'} (")
    assert lines[-1] == f"Content digest: {archive_digest(model_dir / 'm1.mar').value}"
