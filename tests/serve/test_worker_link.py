"""A worker's pipes and its slot, under both event loops ``mar serve`` runs on (uvloop, and
the standard loop where uvloop is missing).

Regressions of a hang of concurrent registrations: uvloop left a dead worker's output pipe
open (to be closed by the garbage collector, in any thread, at any time) and closed each
pipe end twice, so a later close hit a live descriptor of a new worker or a client's
connection; and a worker that could not be started left its registration waiting forever.
"""

from __future__ import annotations

import asyncio
import gc
import io
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
import uvloop

from mar_tools.core.reporter import SilentReporter
from mar_tools.serve.gpus import GpuAssigner
from mar_tools.serve.jobs import JobQueue
from mar_tools.serve.loading import LoadOptions, prepare_model
from mar_tools.serve.model_settings import ModelSettings
from mar_tools.serve.pool import WorkerPool, WorkerRecipe
from mar_tools.serve.worker_link import WorkerLink
from tests.serve.conftest import StartServer
from tests.serve.models import write_model
from tests.serve.pool_events import RecordingEvents

T = TypeVar("T")
LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "uvloop": uvloop.new_event_loop,
    "asyncio": asyncio.new_event_loop,
}


def _run(loop_kind: str, main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=LOOPS[loop_kind]) as runner:
        return runner.run(main)


def _open_fds() -> set[int]:
    return {int(entry.name) for entry in Path("/proc/self/fd").iterdir()}


class _CheckedFile(io.FileIO):
    """A file object that records a close of a descriptor that was closed already (which
    would close whatever now has that number)."""

    twice: ClassVar[list[int]] = []

    def close(self) -> None:
        if not self.closed:
            try:
                os.fstat(self.fileno())
            except OSError:
                _CheckedFile.twice.append(self.fileno())
        super().close()


@pytest.fixture
def checked_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """``os.fdopen`` gives :class:`_CheckedFile` objects; yields the descriptors closed twice."""
    _CheckedFile.twice.clear()
    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *_: _CheckedFile(fd, mode))
    yield _CheckedFile.twice


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
@pytest.mark.parametrize("loop_kind", sorted(LOOPS))
def test_kill_closes_every_pipe_end_once(
    loop_kind: str, tmp_path: Path, checked_files: list[int]
) -> None:
    """After kill() this process holds none of the worker's descriptors, without help from
    the garbage collector, and none was closed twice."""

    async def start() -> WorkerLink:
        return await WorkerLink.start(Path(sys.executable), dict(os.environ), tmp_path, print)

    async def main() -> tuple[set[int], set[int], set[int]]:
        await (await start()).kill()  # what a loop opens once, on its first child
        before = _open_fds()
        links = [await start() for _ in range(3)]
        during = _open_fds()
        await asyncio.gather(*(link.kill() for link in links))
        for _ in range(5):  # let the transports finish closing
            await asyncio.sleep(0.01)
        return before, during, _open_fds()

    gc.collect()
    gc.disable()  # a leak must show, not be collected away
    try:
        before, during, after = _run(loop_kind, main())
    finally:
        gc.enable()
    assert len(during - before) >= 3 * 4  # three pipe ends and the lifeline per worker
    assert checked_files == [], f"closed twice: {checked_files}"
    assert after - before == set(), f"left open: {sorted(after - before)}"


@pytest.mark.parametrize("loop_kind", sorted(LOOPS))
def test_a_worker_that_cannot_start_fails_its_registration(loop_kind: str, tmp_path: Path) -> None:
    """No interpreter at all (an exception while starting the worker, as when no
    descriptor or memory is left): the synchronous scale answers False at once instead of
    waiting forever, and says why."""
    store = tmp_path / "store"
    write_model(store, "echo")
    prepared = prepare_model(
        store / "echo", "echo", None, LoadOptions(cache_dir=tmp_path / "cache"), SilentReporter()
    )
    missing = tmp_path / "no-such-python"
    recipe = WorkerRecipe("echo", "1.0", missing, prepared.env, prepared.model_dir, prepared.load)
    events = RecordingEvents()

    async def main() -> bool:
        pool = WorkerPool(recipe, ModelSettings(), JobQueue(10), GpuAssigner(0), events)
        try:
            return await asyncio.wait_for(pool.scale(1, 1, wait=True), 30)
        finally:
            await pool.stop()

    assert _run(loop_kind, main()) is False
    assert any("could not be started" in w and str(missing) in w for w in events.warnings)


def _pipes(pid: int) -> int:
    count = 0
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += entry.readlink().name.startswith("pipe:")
        except OSError:  # closed meanwhile
            continue
    return count


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/fd")
def test_concurrent_registrations_answer_and_leave_no_pipe_open(
    start_server: StartServer,
) -> None:
    """Six registrations of one model at once (as the compat suite does), three times: each
    answers 200, and once all are unregistered the server holds no pipe of theirs."""
    server = start_server()
    baseline = _pipes(server.pid)
    names = [f"echo-{index}" for index in range(6)]
    for _ in range(3):
        with ThreadPoolExecutor(len(names)) as pool:
            answers = list(
                pool.map(lambda name: server.register("echo", model_name=name, timeout=60), names)
            )
        assert [a.status for a in answers] == [200] * len(names), [a.body for a in answers]
        for name in names:
            assert server.unregister(name).status == 200
    assert _pipes(server.pid) == baseline, server.logs()
