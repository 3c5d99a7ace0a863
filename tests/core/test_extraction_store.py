"""Extractions as ``mar cache`` sees them: last use, use locks held by real processes, and
removal that never pulls an extraction from under a command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from mar_tools.core.extraction import prepare_model_dir, use_lock_path
from mar_tools.core.extraction_store import extractions, remove_extraction
from mar_tools.core.use_lock import is_used, shared_descriptor
from tests.run.support import build_archive, manifest

FILES = {"handler.py": "def handle(d, c):\n    return d\n"}

#: A command using an extraction: gets it from the cache, says where, waits for stdin.
USER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mar_tools.core.extraction import prepare_model_dir
    print(prepare_model_dir(Path(sys.argv[1]), Path(sys.argv[2])).model_dir, flush=True)
    sys.stdin.read()
    """
)

#: A removal that holds an extraction's lock until told to remove it.
REMOVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mar_tools.core.placement import remove
    from mar_tools.core.use_lock import exclusive
    with exclusive(Path(sys.argv[1]), remove=True) as free:
        print(free, flush=True)
        sys.stdin.readline()
        remove(Path(sys.argv[2]))
    """
)


def _start(script: str, *args: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_running_user_keeps_its_extraction(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py", name="kept"))
    cache = tmp_path / "cache"
    user = _start(USER, archive, cache)
    try:
        assert user.stdout is not None
        model_dir = Path(user.stdout.readline().strip())
        [found] = extractions(cache)
        assert (found.path, found.model, found.in_use()) == (model_dir, "kept", True)
        assert time.time() - found.last_used() < 60

        assert remove_extraction(found) is False
        assert model_dir.is_dir() and found.lock.exists()
    finally:
        user.communicate("", timeout=30)
    assert found.in_use() is False
    assert remove_extraction(found) is True
    assert not model_dir.exists() and not found.lock.exists()
    assert extractions(cache) == []
    assert sorted(p.name for p in (cache / "v2").iterdir()) == ["index", "use"]


def test_each_use_moves_the_last_use(tmp_path: Path) -> None:
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"))
    cache = tmp_path / "cache"
    subprocess.run([sys.executable, "-c", USER, archive, cache], check=True, text=True, input="")
    [found] = extractions(cache)
    os.utime(found.lock, (1_000_000_000, 1_000_000_000))
    assert found.last_used() == 1_000_000_000
    subprocess.run([sys.executable, "-c", USER, archive, cache], check=True, text=True, input="")
    assert time.time() - found.last_used() < 60


def test_a_run_that_waited_for_a_removal_extracts_again_and_holds_the_new_lock(
    tmp_path: Path,
) -> None:
    archive = build_archive(tmp_path / "m", FILES, manifest("handler.py"))
    cache = tmp_path / "cache"
    subprocess.run([sys.executable, "-c", USER, archive, cache], check=True, text=True, input="")
    [found] = extractions(cache)
    remover = _start(REMOVER, found.lock, found.path)
    result: list[object] = []
    try:
        assert remover.stdout is not None and remover.stdout.readline() == "True\n"
        # The index names the extraction: this run waits for the remover's lock.
        waiting = threading.Thread(
            target=lambda: result.append(prepare_model_dir(archive, cache)), daemon=True
        )
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive() and result == []
    finally:
        remover.communicate("\n", timeout=30)
    waiting.join(30)
    [extracted] = result
    assert extracted.how == "extracted" and extracted.model_dir == found.path  # type: ignore[attr-defined]
    assert found.path.is_dir()
    # The lock held is the one under the name now, not the file the remover deleted.
    lock = use_lock_path(cache, found.name)
    held = shared_descriptor(lock)
    assert held is not None and os.fstat(held).st_ino == lock.stat().st_ino
    assert is_used(lock) and remove_extraction(found) is False
