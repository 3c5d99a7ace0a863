"""Who runs a model version's workers: this machine's pool, or a distributed engine.

The registry, the HTTP APIs and ``describe`` need only the :class:`ModelWorkers` face of a
model version's workers: scale them, stop them, replace them (``--reload``), say how many
are ready and whether they are healthy, and list them. Jobs always arrive through the
version's bounded :class:`~mar_tools.serve.jobs.JobQueue` (``job_queue_size``; a full
queue is a 503 at once), whatever runs them.

:class:`LocalEngine` is ``mar serve``'s own: a :class:`~mar_tools.serve.pool.WorkerPool` of
worker processes on this machine. ``mar serve --engine ray`` passes the Ray Serve engine
(``mar_tools.serve.ray_engine``, imported only then), which hands each job to a Ray Serve
deployment whose replicas each run such a pool. An engine is started before the first
model is registered and closed after the last one is stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mar_tools.serve.gpus import GpuAssigner
from mar_tools.serve.jobs import JobQueue
from mar_tools.serve.loading import PreparedModel
from mar_tools.serve.model_settings import ModelSettings
from mar_tools.serve.pool import PoolEvents, WorkerPool, WorkerRecipe, WorkerSlot


class ModelWorkers(Protocol):
    """The workers of one model version, as the registry and the APIs see them."""

    @property
    def min_workers(self) -> int: ...

    @property
    def max_workers(self) -> int: ...

    @property
    def slots(self) -> list[WorkerSlot]:
        """One entry per worker (``describe``); empty when the version has no workers."""

    @property
    def ready_count(self) -> int: ...

    def healthy(self) -> bool: ...

    async def scale(self, minimum: int, maximum: int, *, wait: bool) -> bool: ...

    async def replace(self, recipe: WorkerRecipe) -> None: ...

    async def stop(self) -> None: ...


class Engine(Protocol):
    """Makes the :class:`ModelWorkers` of each registered model version."""

    name: str

    async def start(self) -> None:
        """Get ready to run workers (connect to a cluster...)."""

    async def close(self) -> None:
        """Release what :meth:`start` took (after every model's workers are stopped)."""

    def workers(
        self,
        prepared: PreparedModel,
        recipe: WorkerRecipe,
        settings: ModelSettings,
        queue: JobQueue,
    ) -> ModelWorkers:
        """The (not yet started) workers of one model version, fed from *queue*."""

    async def metrics_text(self, names: Sequence[str]) -> bytes:
        """The engine's own metrics in Prometheus text (empty when it has none)."""


class LocalEngine:
    """``mar serve``'s engine: worker processes on this machine."""

    name = "local"

    def __init__(self, gpus: GpuAssigner, events: PoolEvents) -> None:
        self._gpus = gpus
        self._events = events

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def workers(
        self,
        prepared: PreparedModel,
        recipe: WorkerRecipe,
        settings: ModelSettings,
        queue: JobQueue,
    ) -> ModelWorkers:
        del prepared
        return WorkerPool(recipe, settings, queue, self._gpus, self._events)

    async def metrics_text(self, names: Sequence[str]) -> bytes:
        del names
        return b""


__all__ = ["Engine", "LocalEngine", "ModelWorkers"]
