"""``pipeline.Pool`` and ``Future``: the writers' thread pool (replacing concurrent.futures,
whose logging import cost every build start-up) keeps order, errors and cancellation."""

from __future__ import annotations

import threading
import time
from functools import partial

import pytest

from torch_model_archiver.pipeline import CancelledTaskError, Future, Pool, in_order


def _slow(value: int) -> int:
    time.sleep(0.002 * (value % 3))  # finish out of order
    return value


def test_values_come_back_in_submission_order_from_several_threads() -> None:
    names: set[str] = set()

    def task(value: int) -> int:
        names.add(threading.current_thread().name)
        return _slow(value)

    with Pool[int](3) as pool:
        steps = (pool.submit(partial(task, v)) if v % 5 else v for v in range(60))
        assert list(in_order(steps, pool.window)) == list(range(60))
    assert len(names) > 1 and all(name.startswith("tma_") for name in names)


def test_one_job_runs_inline() -> None:
    with Pool[str](1) as pool:
        future = pool.submit(lambda: threading.current_thread().name)
        assert future.done() and future.result() == threading.current_thread().name


def test_an_error_is_raised_at_its_turn_and_the_threads_stop() -> None:
    before = threading.active_count()

    def fail() -> int:
        raise ValueError("bad chunk")

    with Pool[int](2) as pool:
        steps = [pool.submit(lambda: 1), pool.submit(fail), pool.submit(lambda: 3)]
        values = in_order(steps, pool.window)
        assert next(values) == 1
        with pytest.raises(ValueError, match="bad chunk"):
            next(values)
    assert threading.active_count() == before


def test_closing_cancels_what_has_not_started() -> None:
    release = threading.Event()
    started = threading.Semaphore(0)
    ran: list[int] = []

    def block() -> int:
        started.release()
        return int(release.wait(10))

    def record(value: int) -> int:
        ran.append(value)
        return value

    pool = Pool[int](2)
    blockers = [pool.submit(block) for _ in range(2)]
    queued = [pool.submit(partial(record, v)) for v in range(5)]
    for _ in blockers:  # both threads busy: the five wait in the queue
        assert started.acquire(timeout=10)
    threading.Timer(0.2, release.set).start()
    pool.close()  # cancels the five, then waits for the two running tasks
    assert [future.result() for future in blockers] == [1, 1]
    assert ran == []
    for future in queued:
        with pytest.raises(CancelledTaskError):
            future.result()


def test_a_finished_future_cannot_be_cancelled() -> None:
    future: Future[int] = Future()
    future.set_result(4)
    assert not future.cancel() and future.result() == 4
