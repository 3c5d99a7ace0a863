"""A busy worker is sent its next batch while it runs one (pipelining), with real workers of
the torch-free ``echo`` model driven in-process: the requests are queued before the worker
starts, so what is sent when does not depend on timing.

Sent ahead: only a full batch that waits, only once a batch has shown the worker to be
quick, one at a time; when the worker dies, the batch it was running fails and the batch
sent ahead goes back to the queue and is answered by the restarted worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from mar_tools.core.reporter import SilentReporter
from mar_tools.serve.errors import ApiError
from mar_tools.serve.gpus import GpuAssigner
from mar_tools.serve.in_flight import InFlight
from mar_tools.serve.jobs import Job, JobQueue, Reply, Stream
from mar_tools.serve.loading import LoadOptions, prepare_model
from mar_tools.serve.model_settings import ModelSettings
from mar_tools.serve.pool import WorkerPool, WorkerRecipe
from mar_tools.worker.messages import Parameter, Request

pytestmark = pytest.mark.slow


class _Events:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def worker_loaded(self, worker_name: str, elapsed_ms: float) -> None:
        pass

    def backend_metrics(self, lines: Sequence[str]) -> None:
        pass

    def batch_done(self, jobs: Sequence[Job], name: str, overhead_ms: float) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def _run(
    store: Path, tmp_path: Path, bodies: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], list[int], _Events]:
    """Queue one request per body, start one worker, and return each request's answer
    (``echo`` value or ``status: message``), how many batches were in flight at each send,
    and the pool's events."""
    in_flight_at_send: list[int] = []
    send = InFlight.send

    def recording_send(self: InFlight, jobs: list[Job]) -> bool:
        in_flight_at_send.append(len(self.batches))
        return send(self, jobs)

    monkeypatch.setattr(InFlight, "send", recording_send)
    prepared = prepare_model(
        store / "echo", "echo", None, LoadOptions(cache_dir=tmp_path / "cache"), SilentReporter()
    )
    recipe = WorkerRecipe(
        prepared.name, prepared.version, prepared.python, prepared.env, prepared.model_dir,
        prepared.load,
    )  # fmt: skip
    events = _Events()

    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        queue = JobQueue(100)
        futures: list[asyncio.Future[Reply | Stream]] = []
        for index, body in enumerate(bodies):
            future: asyncio.Future[Reply | Stream] = loop.create_future()
            parameter = Parameter("body", "text/plain", body.encode())
            queue.offer(Job(Request(f"request-{index}", (), (parameter,)), future))
            futures.append(future)
        pool = WorkerPool(recipe, ModelSettings(batch_size=1), queue, GpuAssigner(0), events)
        await pool.scale(1, 1, wait=True)
        try:
            answers = []
            for future in futures:
                try:
                    reply = await asyncio.wait_for(future, 60)
                except ApiError as exc:
                    answers.append(f"{exc.status}: {exc}")
                else:
                    assert isinstance(reply, Reply)
                    answers.append(__import__("json").loads(reply.parts[0].body)["echo"])
            return answers
        finally:
            await pool.stop()

    return asyncio.run(scenario()), in_flight_at_send, events


def test_a_full_batch_waiting_is_sent_while_the_worker_runs_the_current_one(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = [f"r{i}" for i in range(8)]
    answers, in_flight, _ = _run(store, tmp_path, bodies, monkeypatch)
    assert answers == bodies  # every request its own answer, in order
    # The first batch is sent alone (no batch has been timed yet), the second when the
    # first is answered, each later one while the one before it runs: never two ahead.
    assert in_flight == [0, 0, 1, 1, 1, 1, 1, 1]


def test_nothing_is_sent_ahead_of_a_slow_batch(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers, in_flight, _ = _run(store, tmp_path, ["sleep:0.05"] * 4, monkeypatch)
    assert answers == ["sleep:0.05"] * 4
    assert in_flight == [0, 0, 0, 0]


def test_a_batch_sent_ahead_of_a_dying_batch_is_answered_by_the_next_worker(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "exit:0.5" lives long enough for "c" to be sent while it runs (a worker that dies at
    # once may close its input pipe before "c" is sent: "c" then stays in the queue).
    bodies = ["a", "b", "exit:0.5", "c"]
    answers, in_flight, events = _run(store, tmp_path, bodies, monkeypatch)
    assert answers == ["a", "b", "503: Worker died.", "c"]
    # "exit" was sent while "b" ran, "c" while "exit" ran, then "c" again to the new worker.
    assert in_flight == [0, 0, 1, 1, 0]
    assert any("worker died" in warning for warning in events.warnings), events.warnings
