"""A model version as a Ray Serve deployment, seen from the server: scale, stop, and hand
each queued request to Ray.

Each model version is one Serve application (``mar-<model>-<version>``) of one deployment
whose replicas are :class:`~mar_tools.serve.ray_engine.replica.ModelReplica`. TorchServe's
settings map onto Ray's: ``minWorkers``/``maxWorkers`` (``min_worker``/``max_worker``) are
the replica count, or the autoscaling bounds when they differ (``target_ongoing_requests``
one batch per replica, Ray's defaults otherwise, ``ray_autoscaling`` merged in); a GPU
model's replica reserves one GPU (``ray_actor_options.num_gpus``), each replica
``ray_cpus_per_worker`` CPUs; ``max_ongoing_requests`` is two batches, so a replica gathers
its next batch while one runs. ``ray_deployment_options`` is merged last.

Requests still wait in the version's bounded job queue (``job_queue_size``, 503 when full).
A dispatcher takes them one by one and calls the deployment's handle, at most
``max_workers x max_ongoing_requests`` at a time: Ray's router picks the replica. A call
that fails inside Ray (the replica's actor or node died, the call was cancelled) is answered
503 ``Worker died.``, as a crashed worker's batch is in ``mar serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from ray import serve

from mar_tools.serve.config import ServerConfig
from mar_tools.serve.errors import ApiError, internal
from mar_tools.serve.jobs import Job, JobQueue
from mar_tools.serve.pool import WORKER_DIED, PoolEvents, WorkerRecipe, WorkerSlot
from mar_tools.serve.ray_engine.replica import ModelPlan, ModelReplica, ReplicaAnswer

#: (status word, running replicas, starting replicas) of an application, or None.
AppState = tuple[str, int, int]


def app_name(model: str, version: str) -> str:
    """The Serve application of a model version (``#`` is reserved by Ray Serve)."""
    return f"mar-{model}-{version}".replace("#", "_")


def deployment_options(
    plan: ModelPlan, minimum: int, maximum: int, config: ServerConfig
) -> dict[str, Any]:
    """Ray Serve deployment options for *plan* (see the module docstring)."""
    settings = plan.settings
    options: dict[str, Any] = {
        "name": plan.name.replace("#", "_"),
        "max_ongoing_requests": max(2, 2 * settings.batch_size),
        "ray_actor_options": {
            "num_cpus": config.ray_cpus_per_worker,
            "num_gpus": 1 if settings.device_type == "gpu" else 0,
        },
    }
    if minimum == maximum:
        options["num_replicas"] = minimum
    else:
        options["autoscaling_config"] = {
            "min_replicas": minimum,
            "max_replicas": maximum,
            "initial_replicas": minimum,
            "target_ongoing_requests": settings.batch_size,
            **config.ray_autoscaling,
        }
    options.update(config.ray_deployment_options)
    return options


class RayModelWorkers:
    """A model version's deployment (see the module docstring)."""

    def __init__(
        self,
        plan: ModelPlan,
        config: ServerConfig,
        queue: JobQueue,
        events: PoolEvents,
        state: Callable[[str], AppState | None],
    ) -> None:
        # Ray chooses the replica's GPU: the worker sees it as gpu_id 0 (no deviceIds).
        self._plan = dataclasses.replace(
            plan, settings=dataclasses.replace(plan.settings, device_ids=None)
        )
        self._config = config
        self._queue = queue
        self._events = events
        self._state = state
        self.app = app_name(plan.name, plan.version)
        self._min = self._max = 0
        self._handle: Any = None
        self._wanted = False
        self._ready = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._room = asyncio.Event()
        self._calls: set[asyncio.Task[None]] = set()
        self._gpus = 1 if plan.settings.device_type == "gpu" else 0

    @property
    def min_workers(self) -> int:
        return self._min

    @property
    def max_workers(self) -> int:
        return self._max

    @property
    def slots(self) -> list[WorkerSlot]:
        if not self._wanted:
            return []
        state = self._state(self.app)
        running, starting = (state[1], state[2]) if state else (0, max(1, self._min))
        slots = [WorkerSlot(index, state="READY") for index in range(running)]
        slots += [WorkerSlot(running + index) for index in range(starting)]
        return slots or [WorkerSlot(0)]

    @property
    def ready_count(self) -> int:
        state = self._state(self.app)
        return state[1] if state and self._handle is not None else 0

    def healthy(self) -> bool:
        state = self._state(self.app)
        return state is None or state[0] not in ("DEPLOY_FAILED", "UNHEALTHY")

    async def scale(self, minimum: int, maximum: int, *, wait: bool) -> bool:
        """Deploy (or re-size) the deployment; with *wait*, True once it is running."""
        self._min, self._max = minimum, maximum
        if maximum <= 0:
            await self._delete()
            return True
        self._wanted = True  # requests wait in the queue while the deployment starts
        if self._dispatcher is None:
            self._dispatcher = asyncio.create_task(self._dispatch())
        deploying = asyncio.create_task(self._deploy())
        if not wait:
            return True
        return await deploying

    async def replace(self, recipe: WorkerRecipe) -> None:
        """Fresh replicas for a changed model (``--reload``): Ray rolls them over."""
        del recipe
        self._plan = dataclasses.replace(self._plan, generation=self._plan.generation + 1)
        await self._deploy()

    async def stop(self) -> None:
        """Delete the deployment; requests in flight in it are answered 503."""
        await self._delete()

    async def _deploy(self) -> bool:
        options = deployment_options(self._plan, self._min, self._max, self._config)
        deployment: Any = serve.deployment(ModelReplica)
        app = deployment.options(**options).bind(self._plan, self._gpus)
        try:
            self._handle = await asyncio.to_thread(serve.run, app, name=self.app, route_prefix=None)
        except Exception as exc:  # Ray reports a failed deployment as RuntimeError
            self._events.warning(f"{self.app}: the deployment failed: {exc}")
            await self._delete(deployed=True)
            return False
        self._ready.set()
        return True

    async def _delete(self, *, deployed: bool = False) -> None:
        handle, self._handle = self._handle, None
        self._wanted = False
        self._ready.clear()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        if handle is not None or deployed:
            await asyncio.to_thread(serve.delete, self.app)
        calls = list(self._calls)
        if calls:
            await asyncio.wait(calls, timeout=10)

    async def _dispatch(self) -> None:
        options = deployment_options(self._plan, self._min, self._max, self._config)
        per_replica = int(options["max_ongoing_requests"])
        while True:
            while self._in_flight >= max(1, self._max) * per_replica:
                self._room.clear()
                await self._room.wait()
            await self._ready.wait()
            for job in await self._queue.take_batch(1, 0):
                self._in_flight += 1
                call = asyncio.create_task(self._call(job))
                self._calls.add(call)
                call.add_done_callback(self._calls.discard)

    async def _call(self, job: Job) -> None:
        try:
            if self._handle is None:
                raise RuntimeError("the deployment was deleted")
            response = self._handle.predict.remote(job.request)
            job.future.add_done_callback(lambda f: response.cancel() if f.cancelled() else None)
            answer: ReplicaAnswer = await response
        except Exception as exc:
            if not job.future.done():
                self._events.warning(f"{self.app}: a request failed in Ray ({type(exc).__name__}).")
                job.future.set_exception(internal(503, WORKER_DIED))
            return
        finally:
            self._in_flight -= 1
            self._room.set()
        self._record(job, answer)

    def _record(self, job: Job, answer: ReplicaAnswer) -> None:
        for worker, elapsed in answer.loads:
            self._events.worker_loaded(worker, elapsed)
        self._events.backend_metrics(answer.metrics)
        job.scheduled = time.perf_counter() - answer.since_scheduled
        if job.future.done():
            return
        if answer.error is not None:
            job.future.set_exception(ApiError(*answer.error))
        elif answer.reply is not None:
            job.future.set_result(answer.reply)
        self._events.batch_done([job], self._plan.name, answer.overhead_ms)


__all__ = ["RayModelWorkers", "app_name", "deployment_options"]
