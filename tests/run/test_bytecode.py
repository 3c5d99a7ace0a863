"""The worker never writes bytecode into the model's directory (the published extraction in
the shared cache, or a user's model directory), while bytecode of code outside it is
written as Python always does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mar_tools.core.cache import cache_subdir
from mar_tools.core.extraction import cache_root
from tests.run.support import build_archive, manifest, mar_env, published, source

HANDLER = source(
    """
    import helper
    import outside
    from pkg import sub

    def handle(data, context):
        if data is None:
            return None
        return [helper.VALUE + sub.VALUE + outside.VALUE for _ in data]
    """
)


def _run(archive: Path, cache: Path, outside: Path) -> subprocess.CompletedProcess[str]:
    env = mar_env(cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode is written, as for most users
    env["PYTHONPATH"] = str(outside)
    return subprocess.run(
        [sys.executable, "-m", "mar_tools", "run", str(archive), "--data", "[1]"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _bytecode(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*.pyc"))


def test_the_model_directory_gets_no_bytecode_and_the_rest_does(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "outside.py").write_text("VALUE = 100\n")
    files = {
        "handler.py": HANDLER,
        "helper.py": "VALUE = 1\n",
        "pkg/__init__.py": "",
        "pkg/sub.py": "VALUE = 10\n",
    }
    cache = tmp_path / "cache"
    for fmt in ("zip", "dir"):
        archive = build_archive(
            tmp_path / f"model-{fmt}", files, manifest(handler="handler.py"), fmt
        )
        for _ in range(2):  # the second run would find (and keep) what the first wrote
            done = _run(archive, cache, outside)
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout) == 111
        if fmt == "dir":
            assert _bytecode(archive) == []
    [extraction] = published(cache_root(cache_subdir("extracted", cache)))
    assert (extraction / "pkg" / "sub.py").is_file()
    assert _bytecode(extraction) == []
    # Control: bytecode writing was on, and code outside the model got its bytecode.
    assert [name.split("/")[0] for name in _bytecode(outside)] == ["__pycache__"]
