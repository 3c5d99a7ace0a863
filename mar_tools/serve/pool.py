"""The workers of one model version: start, feed, watch, restart, stop.

Each worker slot is supervised by one task: start the worker process, send ``load`` (the
model loads within ``startup_timeout``), then take batches from the model's job queue and
send them (the next one while the current one runs, when a full batch waits: see
:mod:`~mar_tools.serve.in_flight`). A batch not answered within ``response_timeout`` (counted
from the moment the worker starts it) kills the worker.
When a worker dies, the requests of its batch get a 503 (``Worker died.``; TorchServe sends
500 here, see docs/serve.md) and the slot starts a new worker after TorchServe's backoff
(0, 1, 1, 2, 3, 5, ... seconds), for as long as it has been failing less than
``maxRetryTimeoutInSec``. A worker that died while idle is noticed at once, and a batch it
could not take is put back in the queue, not failed.

Scaling follows TorchServe: ``min_workers`` workers are started, ``max_workers`` caps them
(workers above it are stopped, the newest first).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from mar_tools.serve.errors import ApiError, internal
from mar_tools.serve.gpus import GpuAssigner
from mar_tools.serve.in_flight import InFlight
from mar_tools.serve.jobs import Job, JobQueue, Reply
from mar_tools.serve.model_settings import ModelSettings
from mar_tools.serve.replies import replies_from_message
from mar_tools.serve.worker_link import WorkerGone, WorkerLink
from mar_tools.worker.messages import (
    BatchResponse,
    Fatal,
    FromWorker,
    Loaded,
    LoadFailure,
    LoadRequest,
)

BACK_OFF = (0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597)
WORKER_DIED = "Worker died."
#: Worker ids count from TorchServe's first worker port, like its ``W-9000-...`` names.
_worker_ids = itertools.count(9000)


class PoolEvents(Protocol):
    """What the pool reports (metrics and logs)."""

    def worker_loaded(self, worker_name: str, elapsed_ms: float) -> None: ...
    def backend_metrics(self, lines: Sequence[str]) -> None: ...
    def batch_done(self, jobs: Sequence[Job], name: str, overhead_ms: float) -> None: ...
    def info(self, message: str) -> None: ...
    def warning(self, message: str) -> None: ...


@dataclass(frozen=True)
class WorkerRecipe:
    """How to start a worker of this model version and what to load (on the CPU; each
    worker's device is set when it starts)."""

    model_name: str
    version: str
    python: Path
    env: Mapping[str, str]
    model_dir: Path
    load: LoadRequest


@dataclass
class WorkerSlot:
    """One worker: its id, state and process (for ``describe``)."""

    worker_id: int
    gpu: int | None = None
    state: str = "STARTING"
    pid: int = -1
    start_time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    wanted: bool = True
    idle: bool = False
    link: WorkerLink | None = None
    task: asyncio.Task[None] | None = None
    loaded: asyncio.Future[bool] | None = None
    failing_since: float | None = None


class WorkerPool:
    """The worker slots of one model version (see the module docstring)."""

    def __init__(
        self,
        recipe: WorkerRecipe,
        settings: ModelSettings,
        queue: JobQueue,
        gpus: GpuAssigner,
        events: PoolEvents,
    ) -> None:
        self.recipe = recipe
        self.settings = settings
        self.queue = queue
        self._gpus = gpus
        self._events = events
        self.slots: list[WorkerSlot] = []
        self.min_workers = 0
        self.max_workers = 0
        self._batches = itertools.count()

    @property
    def ready_count(self) -> int:
        return sum(1 for slot in self.slots if slot.state == "READY")

    def healthy(self) -> bool:
        """False when a wanted worker has been failing longer than the retry window."""
        window = self.settings.max_retry_timeout_sec
        now = time.monotonic()
        failing = [
            s for s in self.slots if s.failing_since is not None and now - s.failing_since > window
        ]
        return len(self.slots) - len(failing) >= self.min_workers

    async def scale(self, minimum: int, maximum: int, *, wait: bool) -> bool:
        """Run *minimum* workers (at most *maximum*); with *wait*, True once all loaded."""
        self.min_workers, self.max_workers = minimum, maximum
        while len(self.slots) > maximum:
            await self._stop_slot(self.slots.pop())
        started = []
        while len(self.slots) < minimum:
            slot = WorkerSlot(next(_worker_ids))
            slot.loaded = asyncio.get_running_loop().create_future()
            slot.task = asyncio.create_task(self._supervise(slot))
            self.slots.append(slot)
            started.append(slot)
        if not wait or not started:
            return True
        results = await asyncio.gather(*(s.loaded for s in started if s.loaded is not None))
        return all(results)

    async def replace(self, recipe: WorkerRecipe) -> None:
        """Stop every worker and start as many from *recipe* (``--reload``)."""
        minimum, maximum = self.min_workers, self.max_workers
        await self.stop()
        self.recipe = recipe
        await self.scale(minimum, maximum, wait=True)

    async def stop(self) -> None:
        """Stop every worker (their jobs in flight get 503)."""
        slots, self.slots = self.slots, []
        await asyncio.gather(*(self._stop_slot(slot) for slot in slots))

    async def _stop_slot(self, slot: WorkerSlot) -> None:
        slot.wanted = False
        if slot.task is not None:
            slot.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await slot.task
        if slot.link is not None:
            await slot.link.kill(grace=0.0)

    def _name(self, slot: WorkerSlot) -> str:
        return f"W-{slot.worker_id}-{self.recipe.model_name}_{self.recipe.version}"

    async def _supervise(self, slot: WorkerSlot) -> None:
        """Run *slot*'s workers until it is stopped or gives up. However this task ends
        (an unexpected error included: logged), a registration waiting for the slot's
        first load gets its answer: never a wait without end."""
        try:
            await self._keep_running(slot)
        except Exception as exc:
            self._events.warning(f"{self._name(slot)}: worker supervision failed: {exc!r}")
            raise
        finally:
            _settle(slot.loaded, False)

    async def _keep_running(self, slot: WorkerSlot) -> None:
        backoff = 0
        while slot.wanted:
            link = await self._start(slot)
            if link is not None:
                slot.failing_since = None
                backoff = 0
                await self._serve(slot, link)
                await link.kill()
                slot.link = None
            if not slot.wanted:
                return
            slot.state = "STOPPED"
            now = time.monotonic()
            if slot.failing_since is None:
                slot.failing_since = now
            elif now - slot.failing_since > self.settings.max_retry_timeout_sec:
                self._events.warning(f"{self._name(slot)}: giving up after repeated failures.")
                return
            backoff = min(backoff + 1, len(BACK_OFF) - 1)
            self._events.info(f"{self._name(slot)}: restarting in {BACK_OFF[backoff]} s.")
            await asyncio.sleep(BACK_OFF[backoff])

    async def _start(self, slot: WorkerSlot) -> WorkerLink | None:
        recipe = self.recipe
        name = self._name(slot)
        slot.gpu = self._gpus.next_gpu(
            f"{recipe.model_name}/{recipe.version}",
            self.settings.device_type,
            self.settings.device_ids,
        )
        slot.state = "STARTING"
        slot.start_time = datetime.now(timezone.utc)
        started = time.perf_counter()
        try:
            link = await WorkerLink.start(
                recipe.python,
                recipe.env,
                recipe.model_dir,
                lambda line: self._events.info(f"{name}: {line}"),
                lambda: self._on_death(slot),
            )
        except OSError as exc:  # could not start it (no memory, no descriptors...)
            self._events.warning(f"{name}: the worker could not be started: {exc}")
            _settle(slot.loaded, False)
            return None
        slot.link, slot.pid = link, link.pid
        load = dataclasses.replace(
            recipe.load,
            device="cpu" if slot.gpu is None else "cuda",
            device_index=slot.gpu,
            device_flag="--device cpu" if slot.gpu is None else f"gpu_id {slot.gpu}",
        )
        failure = None
        try:
            answer = await asyncio.wait_for(link.exchange(load), self.settings.startup_timeout)
        except asyncio.TimeoutError:
            failure = f"the model did not load within {self.settings.startup_timeout} s"
        except WorkerGone:
            failure = f"the worker ended while loading ({link.exit_description()})"
        else:
            if not isinstance(answer, Fatal):
                self._events.backend_metrics(answer.metrics if hasattr(answer, "metrics") else ())
            if not isinstance(answer, Loaded):
                failure = _load_failure(answer)
        if failure is not None:
            self._events.warning(f"{name}: {failure}")
            _settle(slot.loaded, False)  # the registration's answer does not wait for the kill
            await link.kill()
            slot.link = None
            return None
        slot.state = "READY"
        self._events.worker_loaded(name, (time.perf_counter() - started) * 1000)
        _settle(slot.loaded, True)
        return link

    def _on_death(self, slot: WorkerSlot) -> None:
        if slot.wanted and slot.state == "READY":
            slot.state = "STOPPED"
        if slot.idle and slot.task is not None and slot.wanted:
            slot.task.cancel()  # wake the supervisor waiting for a batch

    async def _serve(self, slot: WorkerSlot, link: WorkerLink) -> None:
        settings = self.settings
        flight = InFlight(link, self.queue, self._batches)
        try:
            while slot.wanted and not link.dead.is_set():
                if not flight.batches:
                    slot.idle = True
                    try:
                        jobs = await self.queue.take_batch(
                            settings.batch_size, settings.max_batch_delay
                        )
                    except asyncio.CancelledError:
                        if slot.wanted and link.dead.is_set():
                            _uncancel()
                            self._events.warning(f"{self._name(slot)}: {link.exit_description()}.")
                            return
                        raise
                    finally:
                        slot.idle = False
                    if link.dead.is_set():
                        self.queue.requeue(jobs)
                        return
                    if not flight.send(jobs):
                        return
                flight.prefetch(settings.batch_size)
                if not await self._answer_oldest(slot, flight):
                    return
        finally:
            if flight.batches:  # stopped or died right after an answer, with one sent ahead
                flight.put_back_waiting()
                _fail(flight.finished().jobs, internal(503, WORKER_DIED))
            flight.close()

    async def _answer_oldest(self, slot: WorkerSlot, flight: InFlight) -> bool:
        """Wait for the answer to the oldest batch in flight and deliver it; False when the
        worker died or was killed (its batch failed, the batches behind it requeued)."""
        link = flight.link
        batch = flight.batches[0]
        jobs = batch.jobs
        timed_out = False

        def expire() -> None:
            nonlocal timed_out
            timed_out = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                link.process.kill()

        timer = asyncio.get_running_loop().call_later(self.settings.response_timeout, expire)
        try:
            answer = await batch.answer
        except WorkerGone:
            why = (
                f"no answer within response_timeout={self.settings.response_timeout} s; killed"
                if timed_out
                else link.exit_description()
            )
            self._events.warning(f"{self._name(slot)}: worker died ({why}).")
            flight.put_back_waiting()
            _fail(flight.finished().jobs, internal(503, WORKER_DIED))
            return False
        except asyncio.CancelledError:
            # The worker is being stopped (scale down, unregister, shutdown) mid-batch: its
            # clients get an answer instead of waiting forever.
            flight.put_back_waiting()
            _fail(flight.finished().jobs, internal(503, WORKER_DIED))
            raise
        finally:
            timer.cancel()
        answered = time.perf_counter()
        if not isinstance(answer, BatchResponse) or answer.batch_id != batch.message.batch_id:
            self._events.warning(f"{self._name(slot)}: {_load_failure(answer)}")
            flight.put_back_waiting()
            _fail(flight.finished().jobs, internal(503, WORKER_DIED))
            await link.kill()
            return False
        flight.finished()
        flight.last_elapsed_ms = answer.elapsed_ms
        # The worker is free now: its next batch goes out before this one's replies.
        flight.prefetch(self.settings.batch_size)
        self._events.backend_metrics(answer.metrics)
        answers = replies_from_message(answer)
        for job in jobs:
            result = answers.get(job.request.request_id)
            if job.stream is not None:  # the final part ends what was streamed
                job.end_stream(result.parts[-1] if isinstance(result, Reply) else None)
                continue
            if job.future.done():
                continue
            if isinstance(result, Reply):
                job.future.set_result(result)
            else:
                job.future.set_exception(result or internal(503, "Invalid model predict output"))
        # The frontend's own time for the batch: taking and sending it, then the replies.
        overhead = (batch.sent - jobs[0].scheduled + time.perf_counter() - answered) * 1000
        self._events.batch_done(jobs, self.recipe.model_name, overhead)
        return True


def _fail(jobs: Sequence[Job], error: ApiError) -> None:
    for job in jobs:
        if job.stream is not None:
            job.end_stream(None)  # its client has the head already: the stream just ends
        elif not job.future.done():
            job.future.set_exception(error)


def _settle(future: asyncio.Future[bool] | None, value: bool) -> None:
    if future is not None and not future.done():
        future.set_result(value)


def _uncancel() -> None:
    task = asyncio.current_task()
    if task is not None and sys.version_info >= (3, 11):
        task.uncancel()


def _load_failure(answer: FromWorker) -> str:
    if isinstance(answer, Fatal):
        failure = answer.failure
        return f"{answer.reason}: {failure.error_type}: {failure.message}"
    if isinstance(answer, LoadFailure):
        if answer.failure is not None:
            failure = answer.failure
            return f"the model failed to load: {failure.error_type}: {failure.message}"
        return f"the model failed to load: {answer.message}"
    return f"unexpected {type(answer).__name__} message from the worker"


__all__ = ["BACK_OFF", "PoolEvents", "WorkerPool", "WorkerRecipe", "WorkerSlot"]
