"""A cache to prune: archives extracted by a real process (so that no lock of the test's own
process pins them), environments as the store sees them, last uses set by the test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from mar_tools.core.extraction import use_lock_path
from mar_tools.core.sizes import human_size, tree_size
from mar_tools.env.store import EnvStore
from mar_tools.env.venv_files import EnvRecord, write_record
from tests.run.support import build_archive, manifest, mar_env

DAY = 86400.0

_EXTRACT = """\
import sys
from pathlib import Path
from mar_tools.core.extraction import prepare_model_dir
for archive in sys.argv[2:]:
    print(prepare_model_dir(Path(archive), Path(sys.argv[1])).model_dir, flush=True)
"""


def archive(root: Path, name: str, payload: int) -> Path:
    """A ``.mar`` of model *name* with a *payload*-byte file (stored as it is)."""
    files = {"handler.py": "def handle(data, context):\n    return data\n"}
    return build_archive(
        root / name,
        {**files, "payload.bin": os.urandom(payload)},
        manifest("handler.py", name=name),
    )


def extract(cache: Path, *archives: Path) -> list[Path]:
    """Extract *archives* into *cache* as ``mar run`` does, in a process that then exits."""
    done = subprocess.run(
        [sys.executable, "-c", _EXTRACT, str(cache / "extracted"), *map(str, archives)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [Path(line) for line in done.stdout.splitlines()]


def last_used(cache: Path, extraction: Path, days_ago: float) -> None:
    """Set when *extraction* (a directory of *cache*) was last used."""
    stamp = time.time() - days_ago * DAY
    os.utime(use_lock_path(cache / "extracted", extraction.name), (stamp, stamp))


def environment(cache: Path, short: str, model: str, payload: int, days_ago: float) -> Path:
    """A finished environment as the store sees it (a directory, a file, a record)."""
    store = EnvStore(cache / "envs")
    root = store.path(short)
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "payload.bin").write_bytes(b"\0" * payload)
    record = EnvRecord(
        key=short * 4,
        model=model,
        created="2026-01-01T00:00:00+00:00",
        installer="uv",
        python="3.11.7",
        torch=None,
        requirements="requirements.txt",
        format=1,
    )
    write_record(root, record)
    stamp = time.time() - days_ago * DAY
    os.utime(root / "mar-env.json", (stamp, stamp))
    return root


def size_of(path: Path) -> str:
    return human_size(tree_size(path))


def mar(
    *args: str, cache: Path, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``mar ARGS`` in a subprocess, with *cache* as ``$MAR_CACHE_DIR`` and no terminal."""
    return subprocess.run(
        [sys.executable, "-m", "mar_tools", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=mar_env(cache),
        timeout=timeout,
        check=False,
    )
