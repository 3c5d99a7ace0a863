"""TorchServe's batch aggregation, the bounded queue, and GPU assignment."""

from __future__ import annotations

import asyncio
import time

from mar_tools.serve.gpus import GpuAssigner
from mar_tools.serve.jobs import Job, JobQueue, Reply, Stream
from mar_tools.worker.messages import Request


def _job(loop: asyncio.AbstractEventLoop, name: str) -> Job:
    future: asyncio.Future[Reply | Stream] = loop.create_future()
    return Job(Request(name, (), ()), future)


def test_batch_leaves_when_full_without_waiting_for_the_delay() -> None:
    async def scenario() -> tuple[list[str], float]:
        loop = asyncio.get_running_loop()
        queue = JobQueue(10)
        for name in "abcd":
            assert queue.offer(_job(loop, name))
        started = time.perf_counter()
        batch = await queue.take_batch(3, 5000)
        return [j.request.request_id for j in batch], time.perf_counter() - started

    names, elapsed = asyncio.run(scenario())
    assert names == ["a", "b", "c"]
    assert elapsed < 1.0


def test_batch_leaves_after_the_delay_counted_from_the_first_job() -> None:
    async def scenario() -> tuple[list[str], float]:
        loop = asyncio.get_running_loop()
        queue = JobQueue(10)
        task = asyncio.create_task(queue.take_batch(4, 200))
        await asyncio.sleep(0.3)  # waiting for a first job does not count against the delay
        started = time.perf_counter()
        queue.offer(_job(loop, "a"))
        await asyncio.sleep(0.05)
        queue.offer(_job(loop, "b"))
        batch = await task
        return [j.request.request_id for j in batch], time.perf_counter() - started

    names, elapsed = asyncio.run(scenario())
    assert names == ["a", "b"]
    assert 0.15 < elapsed < 1.0


def test_bounded_queue_and_cancelled_jobs() -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        queue = JobQueue(2)
        first, second = _job(loop, "a"), _job(loop, "b")
        assert queue.offer(first) and queue.offer(second)
        assert not queue.offer(_job(loop, "c"))
        first.future.cancel()  # its client went away
        batch = await queue.take_batch(2, 10)
        return [j.request.request_id for j in batch]

    assert asyncio.run(scenario()) == ["b"]


def test_cancelled_gathering_puts_jobs_back() -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        queue = JobQueue(5)
        queue.offer(_job(loop, "a"))
        task = asyncio.create_task(queue.take_batch(3, 5000))
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return [j.request.request_id for j in queue.drain()]

    assert asyncio.run(scenario()) == ["a"]


def test_gpu_round_robin_like_torchserve() -> None:
    gpus = GpuAssigner(3)
    assert [gpus.next_gpu("m", "gpu", None) for _ in range(4)] == [1, 2, 0, 1]
    assert [gpus.next_gpu("n", "gpu", (2, 0)) for _ in range(3)] == [2, 0, 2]
    assert gpus.next_gpu("m", "cpu", None) is None
    assert GpuAssigner(0).next_gpu("m", "gpu", None) is None


def test_take_ready_takes_only_a_full_batch_that_waits() -> None:
    async def scenario() -> list[list[str]]:
        loop = asyncio.get_running_loop()
        queue = JobQueue(10)
        taken = []
        queue.offer(_job(loop, "a"))
        taken.append(queue.take_ready(2))  # one job is not a full batch of 2
        queue.offer(_job(loop, "b"))
        queue.offer(_job(loop, "c"))
        taken.append(queue.take_ready(2))
        cancelled = _job(loop, "d")
        queue.offer(cancelled)
        cancelled.future.cancel()
        taken.append(queue.take_ready(2))  # c and a cancelled d: not a full batch
        queue.offer(_job(loop, "e"))
        taken.append(queue.take_ready(2))
        return [[j.request.request_id for j in batch] for batch in taken]

    assert asyncio.run(scenario()) == [[], ["a", "b"], [], ["c", "e"]]


def test_take_ready_leaves_the_jobs_to_a_worker_gathering_a_batch() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        loop = asyncio.get_running_loop()
        queue = JobQueue(10)
        gathering = asyncio.create_task(queue.take_batch(2, 200))
        await asyncio.sleep(0)
        queue.offer(_job(loop, "a"))
        queue.offer(_job(loop, "b"))
        early = queue.take_ready(2)  # an idle worker is gathering: it gets them
        batch = await gathering
        return [j.request.request_id for j in early], [j.request.request_id for j in batch]

    assert asyncio.run(scenario()) == ([], ["a", "b"])
