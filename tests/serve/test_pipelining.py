"""A busy worker is sent its next batch while it runs one (pipelining), with real workers of
the torch-free ``echo`` model driven in-process: the requests are queued before the worker
starts, so what is sent when does not depend on timing.

Sent ahead: only a full batch that waits, only once a batch has shown the worker to be
quick, at most ``MAX_AHEAD`` and only as many as the worker's last batch time allows, in one
write; when the worker dies, the batch it was running fails and the batches sent ahead go
back to the queue and are answered by the restarted worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from mar_tools.core.reporter import SilentReporter
from mar_tools.serve import in_flight
from mar_tools.serve.errors import ApiError
from mar_tools.serve.gpus import GpuAssigner
from mar_tools.serve.in_flight import MAX_AHEAD, Batch, InFlight
from mar_tools.serve.jobs import Job, JobQueue, Reply, Stream
from mar_tools.serve.loading import LoadOptions, prepare_model
from mar_tools.serve.model_settings import ModelSettings
from mar_tools.serve.pool import WorkerPool, WorkerRecipe
from mar_tools.serve.worker_link import WorkerLink
from mar_tools.worker.messages import Parameter, Predict, Request
from tests.serve.pool_events import RecordingEvents

pytestmark = pytest.mark.slow


class _CountingWriter(asyncio.WriteTransport):
    """The worker's input pipe, counting the writes to it (the messages each carried)."""

    def __init__(self, transport: asyncio.WriteTransport, writes: list[int]) -> None:
        super().__init__()
        self._transport = transport
        self._writes = writes

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        chunks = list(chunks)
        self._writes.append(len(chunks))
        self._transport.writelines(chunks)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._transport.close()


def _run(
    store: Path,
    tmp_path: Path,
    bodies: list[str],
    monkeypatch: pytest.MonkeyPatch,
    budget_ms: float | None = None,
) -> tuple[list[str], list[int], RecordingEvents]:
    """Queue one request per body, start one worker, and return each request's answer
    (``echo`` value or ``status: message``), how many batches were in flight at each send,
    and the pool's events. *budget_ms* replaces ``PREFETCH_BELOW_MS`` (a large one: the
    worker's batch times, which a busy machine stretches, never limit what is sent ahead)."""
    in_flight_at_send: list[int] = []
    writes: list[int] = []
    send = InFlight.send

    def recording_send(self: InFlight, jobs: list[Job]) -> bool:
        in_flight_at_send.append(len(self.batches))
        return send(self, jobs)

    monkeypatch.setattr(InFlight, "send", recording_send)
    start = WorkerLink.start.__func__  # type: ignore[attr-defined]

    async def counting_start(cls: type[WorkerLink], *args: Any, **kwargs: Any) -> WorkerLink:
        link: WorkerLink = await start(cls, *args, **kwargs)
        link._writer = _CountingWriter(link._writer, writes)
        return link

    monkeypatch.setattr(WorkerLink, "start", classmethod(counting_start))
    if budget_ms is not None:
        monkeypatch.setattr(in_flight, "PREFETCH_BELOW_MS", budget_ms)
    prepared = prepare_model(
        store / "echo", "echo", None, LoadOptions(cache_dir=tmp_path / "cache"), SilentReporter()
    )
    recipe = WorkerRecipe(
        prepared.name, prepared.version, prepared.python, prepared.env, prepared.model_dir,
        prepared.load,
    )  # fmt: skip
    events = RecordingEvents()

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

    events.writes = writes
    return asyncio.run(scenario()), in_flight_at_send, events


def test_a_full_batch_waiting_is_sent_while_the_worker_runs_the_current_one(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = [f"r{i}" for i in range(8)]
    answers, sent_with, events = _run(store, tmp_path, bodies, monkeypatch, budget_ms=1000.0)
    assert answers == bodies  # every request its own answer, in order
    # The first batch is sent alone (no batch has been timed yet); when it is answered, the
    # next one goes with MAX_AHEAD more behind it; then one for each answer.
    assert MAX_AHEAD == 4
    assert sent_with == [0, 0, 1, 2, 3, 4, 4, 4]
    # One write each: the load message, r0, r1 to r5 together, r6, r7 (a predict message of
    # one request with one parameter is three chunks: length, header, body).
    assert events.writes[1:] == [3, 15, 3, 3], events.writes


def test_nothing_is_sent_ahead_of_a_slow_batch(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers, sent_with, _ = _run(store, tmp_path, ["sleep:0.05"] * 4, monkeypatch)
    assert answers == ["sleep:0.05"] * 4
    assert sent_with == [0, 0, 0, 0]


def test_a_batch_sent_ahead_of_a_dying_batch_is_answered_by_the_next_worker(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = ["a", "b", "exit:0.5", "c"]
    answers, sent_with, events = _run(store, tmp_path, bodies, monkeypatch, budget_ms=1000.0)
    assert answers == ["a", "b", "503: Worker died.", "c"]
    # "b", "exit" and "c" were sent together once "a" was answered; "c" went back to the
    # queue when the worker died in "exit", and then to the new worker.
    assert sent_with == [0, 0, 1, 2, 0]
    assert any("worker died" in warning for warning in events.warnings), events.warnings


def test_how_many_are_sent_ahead_follows_the_last_batch_time() -> None:
    """While batches wait on the worker, each timed by its last batch, another may be sent
    when they come to less than ``PREFETCH_BELOW_MS`` (5 ms), and never past MAX_AHEAD."""

    async def room_after(elapsed_ms: float) -> int:
        loop = asyncio.get_running_loop()
        link = WorkerLink.__new__(WorkerLink)  # no process: only the batch count matters
        flight = InFlight(link, JobQueue(10), iter(range(100)))
        flight.last_elapsed_ms = elapsed_ms
        while flight._room() and len(flight.batches) < 100:
            flight.batches.append(Batch(Predict(0, ()), [], loop.create_future()))
        return len(flight.batches)

    assert asyncio.run(room_after(float("inf"))) == 1  # untimed: nothing ahead
    assert asyncio.run(room_after(10.0)) == 1  # slow: nothing ahead
    assert asyncio.run(room_after(2.0)) == 3  # 2 x 2 ms < 5 ms: two ahead
    assert asyncio.run(room_after(1.0)) == 5  # 4 x 1 ms < 5 ms: four ahead
    assert asyncio.run(room_after(0.1)) == 1 + MAX_AHEAD
