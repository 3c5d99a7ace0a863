"""One replica of a model version's Ray Serve deployment: ``mar serve``'s worker pool, one
worker, on whichever node Ray placed the replica.

The replica prepares the model on its own node exactly as ``mar serve`` does (the
content-keyed extraction cache and, with ``install_py_dep_per_model``, the cached per-model
environment of ``mar_tools.env``: no ``runtime_env``), then runs one worker of it in a
:class:`~mar_tools.serve.pool.WorkerPool` fed by its own :class:`~mar_tools.serve.jobs.JobQueue`.
So batching keeps TorchServe's ``batch_size`` / ``max_batch_delay`` semantics inside each
replica, and a crashed worker is restarted with TorchServe's backoff, its batch answered 503.

:meth:`ModelReplica.predict` answers one request with a :class:`ReplicaAnswer`: the reply
(a streamed reply is gathered whole and sent as its parts), or the error, plus what
happened in the replica since its last answer (worker loads, the handlers' ``[METRICS]``
lines, the time the request waited for a worker), for the server's metrics. Errors are
values, never exceptions: Ray re-raises exceptions of its own. Logs go to Ray's replica log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mar_tools.core.reporter import SilentReporter
from mar_tools.serve.errors import ApiError, no_worker
from mar_tools.serve.gpus import GpuAssigner
from mar_tools.serve.jobs import Job, JobQueue, Reply, ReplyPart, Stream
from mar_tools.serve.loading import LoadOptions, prepare_model
from mar_tools.serve.model_settings import ModelSettings
from mar_tools.serve.pool import WorkerPool, WorkerRecipe
from mar_tools.worker.messages import Request

_log = logging.getLogger("ray.serve")


@dataclass(frozen=True)
class ModelPlan:
    """What a replica needs to prepare and run the model version (sent by the server)."""

    archive: Path
    name: str
    version: str
    handler: str
    load_options: LoadOptions
    settings: ModelSettings
    #: Changes when ``--reload`` asks for fresh replicas (Ray restarts them on a change).
    generation: int = 0


@dataclass(frozen=True)
class ReplicaAnswer:
    """One request's answer: *reply*, or *error* as ``(status, type, message)``."""

    reply: Reply | None
    error: tuple[int, str, str] | None = None
    #: Seconds between a worker taking the request and this answer.
    since_scheduled: float = 0.0
    #: ``(worker name, milliseconds)`` of each worker that loaded since the last answer.
    loads: tuple[tuple[str, float], ...] = ()
    #: The handlers' ``[METRICS]`` lines since the last answer.
    metrics: tuple[str, ...] = ()
    #: Milliseconds the replica spent around the handler call (TorchServe's WorkerThreadTime).
    overhead_ms: float = 0.0


@dataclass
class _Recorder:
    """The pool's events, kept until the next answer carries them to the server."""

    loads: list[tuple[str, float]] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    overhead_ms: float = 0.0

    def worker_loaded(self, worker_name: str, elapsed_ms: float) -> None:
        self.loads.append((worker_name, elapsed_ms))
        _log.info("%s: model loaded in %.0f ms.", worker_name, elapsed_ms)

    def backend_metrics(self, lines: Sequence[str]) -> None:
        self.metrics.extend(lines)

    def batch_done(self, jobs: Sequence[Job], name: str, overhead_ms: float) -> None:
        del jobs, name
        self.overhead_ms = overhead_ms

    def info(self, message: str) -> None:
        _log.info("%s", message)

    def warning(self, message: str) -> None:
        _log.warning("%s", message)

    def take(self) -> tuple[tuple[tuple[str, float], ...], tuple[str, ...]]:
        loads, metrics = tuple(self.loads), tuple(self.metrics)
        self.loads.clear()
        self.metrics.clear()
        return loads, metrics


class ModelReplica:
    """The body of a model version's deployment (see the module docstring).

    Its constructor is a coroutine, as Ray Serve allows: the replica counts as started once
    its worker has loaded the model.
    """

    async def __init__(self, plan: ModelPlan, gpus: int) -> None:  # type: ignore[misc]
        self._plan = plan
        reporter = SilentReporter()
        prepared = await asyncio.to_thread(
            prepare_model, plan.archive, plan.name, plan.handler, plan.load_options, reporter
        )
        settings = plan.settings
        load = dataclasses.replace(prepared.load, batch_size=settings.batch_size)
        recipe = WorkerRecipe(
            prepared.name, prepared.version, prepared.python, prepared.env, prepared.model_dir, load
        )
        self._queue = JobQueue(settings.job_queue_size)
        self._events = _Recorder()
        # Ray sets CUDA_VISIBLE_DEVICES to the replica's GPU (the plan has no deviceIds): one
        # visible GPU, so the worker's gpu_id is 0.
        self._pool = WorkerPool(recipe, settings, self._queue, GpuAssigner(gpus), self._events)
        if not await self._pool.scale(1, 1, wait=True):
            await self._pool.stop()
            raise RuntimeError(f"{plan.name}: the worker did not load (see the replica's log)")

    async def predict(self, request: Request) -> ReplicaAnswer:
        """Answer *request* through this replica's queue and worker."""
        future: asyncio.Future[Reply | Stream] = asyncio.get_running_loop().create_future()
        job = Job(request, future)
        if not self._queue.offer(job):
            return self._answer(None, no_worker(self._plan.name, None), job)
        try:
            result = await future
        except ApiError as exc:
            return self._answer(None, exc, job)
        finally:
            future.cancel()  # a cancelled call leaves its job to be skipped, not run
        if isinstance(result, Stream):
            parts: list[ReplyPart] = [result.first]
            while (later := await result.rest.get()) is not None:
                parts.append(later)
            result = Reply(tuple(parts))
        return self._answer(result, None, job)

    def _answer(self, reply: Reply | None, error: ApiError | None, job: Job) -> ReplicaAnswer:
        loads, metrics = self._events.take()
        since = time.perf_counter() - job.scheduled if job.scheduled else 0.0
        return ReplicaAnswer(
            reply,
            None if error is None else (error.status, error.error_type, error.message),
            since_scheduled=since,
            loads=loads,
            metrics=metrics,
            overhead_ms=self._events.overhead_ms,
        )

    def check_health(self) -> None:
        """Ray's health check: fails once the worker has failed past its retry window."""
        if not self._pool.healthy():
            raise RuntimeError(f"{self._plan.name}: the worker keeps failing")

    async def __del__(self) -> None:
        """Ray Serve calls this when the replica is stopped: stop the worker."""
        await self._pool.stop()


__all__ = ["ModelPlan", "ModelReplica", "ReplicaAnswer"]
