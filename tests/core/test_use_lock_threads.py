"""Use locks taken by many threads of one process at once (``mar serve`` prepares models in
threads): each lock is one descriptor, whichever thread takes it first."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from mar_tools.core import use_lock


def _held(path: Path) -> list[int]:
    """This process's descriptors open on *path*."""
    found = []
    for entry in Path("/proc/self/fd").iterdir():
        try:
            if entry.readlink() == path:
                found.append(int(entry.name))
        except OSError:  # the listing's own descriptor, closed by now
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_threads_taking_one_lock_at_once_share_one_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "use" / "sha256-abc"
    threads = 16
    together = threading.Barrier(threads)
    real_open = use_lock._open

    def slow_open(target: Path) -> int:
        descriptor = real_open(target)
        time.sleep(0.02)  # a busy machine: the other threads run before this one goes on
        return descriptor

    monkeypatch.setattr(use_lock, "_open", slow_open)

    def take() -> None:
        together.wait()
        use_lock.hold_shared(path, touch=True)

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    held = _held(path)
    try:
        assert held == [use_lock.shared_descriptor(path)]
    finally:
        use_lock._SHARED.pop(path, None)
        for descriptor in held:
            os.close(descriptor)
