"""Ordered, bounded parallelism: compress ahead on a thread pool, write strictly in order.

The writers produce a lazy stream of *steps*: plain values (an entry starts, an entry ends)
and futures (a chunk being compressed on the pool). :func:`in_order` yields every step's
value in the order produced, while keeping at most ``window`` futures in flight. Because the
producer is a lazy generator pulled by the consumer, a source is read only when a slot is
free: memory stays bounded by ``window`` chunks whatever the size of the model. zlib and isal
release the GIL while they compress, so threads give real parallelism.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


def default_jobs() -> int:
    """Threads to compress with: one per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Pool(Generic[T]):
    """A thread pool that also runs tasks inline when ``jobs`` is 1 (no thread hop)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._executor = ThreadPoolExecutor(self.jobs, "tma") if self.jobs > 1 else None

    @property
    def window(self) -> int:
        """How many futures may be in flight: enough to keep every thread busy."""
        return 2 * self.jobs + 2

    def submit(self, task: Callable[[], T]) -> Future[T]:
        if self._executor is not None:
            return self._executor.submit(task)
        future: Future[T] = Future()
        try:
            future.set_result(task())
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Pool[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def in_order(steps: Iterable[Future[T] | object], window: int) -> Iterator[T | object]:
    """Yield the value of every step in order, with at most *window* futures pending.

    A future's exception is raised when its turn comes; pending futures are cancelled when
    the consumer stops early (an error, an interrupt).
    """
    pending: deque[Future[T] | object] = deque()
    in_flight = 0
    try:
        for step in steps:
            pending.append(step)
            if isinstance(step, Future):
                in_flight += 1
            while pending and (in_flight > window or not isinstance(pending[0], Future)):
                head = pending.popleft()
                if isinstance(head, Future):
                    in_flight -= 1
                    yield head.result()
                else:
                    yield head
        while pending:
            head = pending.popleft()
            yield head.result() if isinstance(head, Future) else head
    finally:
        for step in pending:
            if isinstance(step, Future):
                step.cancel()
