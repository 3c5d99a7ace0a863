"""Inference jobs, the bounded queue they wait in, and how a batch is gathered from it.

A :class:`Job` is one request on its way to a worker; its future gets a :class:`Reply` (the
handler's answer, possibly several streamed parts) or an :class:`~mar_tools.serve.errors.ApiError`.

:meth:`JobQueue.take_batch` is TorchServe's batch aggregation: a free worker waits as long
as it takes for a first job, then for up to ``batch_size - 1`` more within
``max_batch_delay`` milliseconds counted from the moment it got the first one; the batch
leaves when it is full or the delay has passed. One worker gathers at a time, so requests
are not spread thinly over idle workers. :meth:`JobQueue.take_ready` takes a full batch that
is waiting, without waiting, for a busy worker's next batch. The queue is bounded
(``job_queue_size``): a job that does not fit is refused at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from mar_tools.worker.messages import Request


@dataclass(frozen=True)
class ReplyPart:
    """One frame of a request's answer."""

    status: int
    phrase: str
    content_type: str | None
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """A request's answer: one part, or several for a streamed response."""

    parts: tuple[ReplyPart, ...]

    @property
    def streamed(self) -> bool:
        return len(self.parts) > 1 or "ts_stream_next" in self.parts[0].headers


@dataclass
class Stream:
    """A streamed answer in progress: its first part, then the later ones as they come
    (None ends the stream)."""

    first: ReplyPart
    rest: asyncio.Queue[ReplyPart | None] = field(default_factory=asyncio.Queue)


@dataclass
class Job:
    """One request waiting for (or being handled by) a worker. Its future gets the whole
    :class:`Reply`, or a :class:`Stream` as soon as the handler streams a first part."""

    request: Request
    future: asyncio.Future[Reply | Stream]
    received: float = field(default_factory=time.perf_counter)
    scheduled: float = 0.0
    stream: Stream | None = None

    def stream_part(self, part: ReplyPart) -> None:
        """Deliver one streamed part (the first one resolves the future)."""
        if self.stream is None:
            self.stream = Stream(part)
            if not self.future.done():
                self.future.set_result(self.stream)
        else:
            self.stream.rest.put_nowait(part)

    def end_stream(self, last: ReplyPart | None) -> None:
        """Deliver the final part (if any) of a streamed answer and end it."""
        assert self.stream is not None
        if last is not None:
            self.stream.rest.put_nowait(last)
        self.stream.rest.put_nowait(None)


class JobQueue:
    """A bounded FIFO of jobs that workers take batches from."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._jobs: deque[Job] = deque()
        self._arrived = asyncio.Event()
        self._gather = asyncio.Lock()

    @property
    def pending(self) -> int:
        return len(self._jobs)

    def offer(self, job: Job) -> bool:
        """Queue *job*; False when the queue is full."""
        if len(self._jobs) >= self.capacity:
            return False
        self._jobs.append(job)
        self._arrived.set()
        return True

    def requeue(self, jobs: list[Job]) -> None:
        """Put *jobs* back at the front, in order (their worker could not take them)."""
        self._jobs.extendleft(reversed(jobs))
        if self._jobs:
            self._arrived.set()

    def drain(self) -> list[Job]:
        """Remove and return every queued job."""
        jobs = list(self._jobs)
        self._jobs.clear()
        return jobs

    async def take_batch(self, batch_size: int, max_delay_ms: int) -> list[Job]:
        """The next batch (see the module docstring); never empty."""
        batch: list[Job] = []
        async with self._gather:
            try:
                first = await self._next(None)
                assert first is not None
                batch.append(first)
                deadline = time.perf_counter() + max_delay_ms / 1000.0
                while len(batch) < batch_size:
                    remaining = deadline - time.perf_counter()
                    job = self._pop() if remaining <= 0 else await self._next(remaining)
                    if job is None:
                        break
                    batch.append(job)
            except asyncio.CancelledError:
                self.requeue(batch)  # the worker stopped while gathering: nothing is lost
                raise
        now = time.perf_counter()
        live = []
        for job in batch:
            job.scheduled = now
            if not job.future.done():  # its client may be gone (cancelled)
                live.append(job)
        return live or await self.take_batch(batch_size, max_delay_ms)

    def take_ready(self, batch_size: int) -> list[Job]:
        """A full batch that is waiting right now, taken at once (a busy worker's next one,
        see :mod:`~mar_tools.serve.in_flight`); empty when fewer than *batch_size* live
        jobs wait or a worker is gathering a batch."""
        if self._gather.locked() or len(self._jobs) < batch_size:
            return []
        batch: list[Job] = []
        while self._jobs and len(batch) < batch_size:
            job = self._jobs.popleft()
            if not job.future.done():  # its client may be gone (cancelled)
                batch.append(job)
        if len(batch) < batch_size:
            self.requeue(batch)
            return []
        now = time.perf_counter()
        for job in batch:
            job.scheduled = now
        return batch

    def _pop(self) -> Job | None:
        if not self._jobs:
            self._arrived.clear()
            return None
        return self._jobs.popleft()

    async def _next(self, timeout: float | None) -> Job | None:
        while True:
            job = self._pop()
            if job is not None:
                return job
            if timeout is None:
                await self._arrived.wait()
                continue
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except asyncio.TimeoutError:
                return self._pop()
            return self._pop()
