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
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar, cast

T = TypeVar("T")


def default_jobs() -> int:
    """Threads to compress with: one per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Future(Generic[T]):
    """The value (or exception) of a task, once it has run.

    The part of :class:`concurrent.futures.Future` the writers use, without importing
    :mod:`concurrent.futures`, whose ``logging`` import was a tenth of a build's start-up.
    """

    __slots__ = ("_cancelled", "_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._cancelled = False

    def set_result(self, value: T) -> None:
        self._value = value
        self._done.set()

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self) -> bool:
        """Keep the task from running if it has not started; True if it will not run."""
        if self._done.is_set():
            return False
        self._cancelled = True
        return True

    def result(self) -> T:
        """Wait for the task; return its value or raise its exception."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)

    def run(self, task: Callable[[], T]) -> None:
        """Run *task* into this future (unless it was cancelled first)."""
        if self._cancelled:
            self.set_exception(CancelledTaskError("cancelled before it ran"))
            return
        try:
            value = task()
        except BaseException as exc:
            self.set_exception(exc)
        else:
            self.set_result(value)


class CancelledTaskError(RuntimeError):
    """The result of a task cancelled before it ran."""


class Pool(Generic[T]):
    """*jobs* worker threads running submitted tasks in order of submission; with one job,
    tasks run inline when submitted (no thread hop). Threads start with the first task."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self._queue: deque[tuple[Future[T], Callable[[], T]] | None] = deque()
        self._ready = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []

    @property
    def window(self) -> int:
        """How many futures may be in flight: enough to keep every thread busy."""
        return 2 * self.jobs + 2

    def submit(self, task: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        if self.jobs == 1:
            future.run(task)
            return future
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._work, name=f"tma_{index}", daemon=True)
                for index in range(self.jobs)
            ]
            for thread in self._threads:
                thread.start()
        self._queue.append((future, task))
        self._ready.release()
        return future

    def _work(self) -> None:
        while True:
            self._ready.acquire()
            item = self._queue.popleft()
            if item is None:
                return
            future, task = item
            future.run(task)

    def close(self) -> None:
        """Cancel the tasks not started, let the running ones finish, stop the threads."""
        for item in list(self._queue):  # one copy, made under the GIL: workers pop meanwhile
            if item is not None:
                item[0].cancel()
        for _ in self._threads:
            self._queue.append(None)
            self._ready.release()
        for thread in self._threads:
            thread.join()
        self._threads = []

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
