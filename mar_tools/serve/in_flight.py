"""The batches a worker has been sent and has not answered yet, oldest first.

A worker answers batches in the order it receives them, so the oldest batch in flight is
the one its handler is running. While it runs, the pool may send the worker its next batch
(pipelining, :meth:`InFlight.prefetch`): the worker starts on it the moment it has answered,
instead of waiting for the server to read the answer, write the replies and send another.
TorchServe's batching is kept: only a *full* batch (``batch_size`` requests) that is already
waiting is sent early, never while another worker is gathering one (an idle worker gets the
requests first), and only as many ahead as the worker's quick batches cover: the batches
already waiting on the worker, timed by its last one, must come to less than
:data:`PREFETCH_BELOW_MS`, and at most :data:`MAX_AHEAD` are sent ahead. So a request does
not wait behind a busy worker while another is about to be free, and nothing is sent ahead
of a batch that ran long. The batches sent together go out in one write to the pipe, and the
worker reads them in one: under load, one system call (and one wake-up of the worker) for
several requests instead of one each.

When the worker dies, only the oldest batch was running (its requests get their error); the
batches behind it never reached the handler and go back to the front of the queue.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from mar_tools.serve.jobs import Job, JobQueue
from mar_tools.serve.replies import part_of
from mar_tools.serve.worker_link import WorkerGone, WorkerLink
from mar_tools.worker.messages import FromWorker, Predict, Streamed

#: Batches are sent ahead only while those waiting on the worker, each timed by the worker's
#: last batch, come to less than this (ms): the round trip it hides is worth a fraction of a
#: millisecond, and behind long batches a request could wait while another worker becomes
#: free.
PREFETCH_BELOW_MS = 5.0
#: At most this many batches wait on a worker behind the one it runs.
MAX_AHEAD = 4


@dataclass
class Batch:
    """One batch sent to the worker: its message, jobs, and the future of its answer."""

    message: Predict
    jobs: list[Job]
    answer: asyncio.Future[FromWorker]
    #: When it was sent.
    sent: float = field(default_factory=time.perf_counter)
    by_id: dict[str, Job] = field(default_factory=dict)


class InFlight:
    """The batches in flight on one worker *link* (see the module docstring)."""

    def __init__(self, link: WorkerLink, queue: JobQueue, batch_ids: Iterator[int]) -> None:
        self.link = link
        self.queue = queue
        self._batch_ids = batch_ids
        self.batches: deque[Batch] = deque()
        #: How long the worker took for its last batch (ms), as it reported; nothing is sent
        #: ahead before a first batch has shown how long batches take.
        self.last_elapsed_ms = float("inf")
        link.on_stream = self._streamed

    def send(self, jobs: list[Job]) -> bool:
        """Send *jobs* as the worker's next batch; False (the jobs put back in the queue)
        when the worker is gone."""
        message = Predict(next(self._batch_ids), tuple(job.request for job in jobs))
        try:
            answer = self.link.submit(message)
        except WorkerGone:
            self.queue.requeue(jobs)
            return False
        batch = Batch(message, jobs, answer, by_id={job.request.request_id: job for job in jobs})
        self.batches.append(batch)
        return True

    def prefetch(self, batch_size: int) -> None:
        """Keep the worker supplied: send full batches that are waiting now, until it has
        one to run and (when its batches are quick) a few more (see the module docstring),
        in one write."""
        if self.queue.pending < batch_size or not self._room():
            return
        with self.link.one_write():
            while self._room():
                jobs = self.queue.take_ready(batch_size)
                if not jobs or not self.send(jobs):
                    return

    def _room(self) -> bool:
        """Whether one more batch may be sent now (see the module docstring)."""
        waiting = len(self.batches)
        if waiting == 0:
            return True
        return waiting <= MAX_AHEAD and waiting * self.last_elapsed_ms < PREFETCH_BELOW_MS

    def finished(self) -> Batch:
        """Remove the oldest batch (answered, or failed); the next one is the worker's current
        one."""
        batch = self.batches.popleft()
        _forget(batch.answer)
        return batch

    def put_back_waiting(self) -> None:
        """Put the batches behind the oldest back at the front of the queue, in order (the
        worker never started them)."""
        waiting = [job for batch in list(self.batches)[1:] for job in batch.jobs]
        while len(self.batches) > 1:
            _forget(self.batches.pop().answer)
        self.queue.requeue(waiting)

    def close(self) -> None:
        self.link.on_stream = None

    def _streamed(self, part: Streamed) -> None:
        if not self.batches or self.batches[0].message.batch_id != part.batch_id:
            return
        by_id = self.batches[0].by_id
        for frame in part.frames:
            for entry in frame.entries:
                job = by_id.get(entry.request_id)
                if job is not None:
                    job.stream_part(part_of(entry))


def _forget(answer: asyncio.Future[FromWorker]) -> None:
    """Nobody waits for *answer* any more: its exception, if it got one, is not an error."""
    if not answer.done():
        answer.cancel()
    elif not answer.cancelled():
        answer.exception()
