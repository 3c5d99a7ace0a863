"""The registered models: names, versions, the default version, and their worker pools.

This is TorchServe's model manager. Every method answers with TorchServe 0.12's texts and
status codes (``(status, message)`` for success, :class:`ApiError` otherwise), so the
management API only renders. Registration blocks in a thread only for the slow part
(extraction, environments); the rest runs on the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mar_tools.core.errors import EnvironmentSetupError, MarToolsError
from mar_tools.core.reporter import Reporter
from mar_tools.serve.config import ServerConfig
from mar_tools.serve.engine import Engine, LocalEngine, ModelWorkers
from mar_tools.serve.errors import (
    ApiError,
    bad_request,
    model_not_found,
    no_worker,
    version_not_found,
)
from mar_tools.serve.gpus import GpuAssigner
from mar_tools.serve.jobs import Job, JobQueue, Reply, Stream
from mar_tools.serve.loading import LoadOptions, PreparedModel, prepare_model
from mar_tools.serve.model_settings import (
    ModelSettings,
    RegisterParams,
    decide_settings,
    initial_worker_count,
)
from mar_tools.serve.pool import PoolEvents, WorkerRecipe
from mar_tools.serve.store import resolve_url
from mar_tools.worker.messages import Request

RUNTIMES = ("python", "python3", "LSP")
PROCESSING = "Processing worker updates..."


@dataclass
class ModelVersion:
    """One registered version of a model."""

    name: str
    version: str
    url: str
    prepared: PreparedModel
    settings: ModelSettings
    queue: JobQueue
    pool: ModelWorkers
    startup: bool


class Registry:
    """All models of the server (see the module docstring)."""

    def __init__(
        self,
        config: ServerConfig,
        load_options: LoadOptions,
        gpus: GpuAssigner,
        events: PoolEvents,
        reporter: Reporter,
        default_workers: int,
        resolve: Callable[[str], Path] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.config = config
        self._load_options = load_options
        self._gpus = gpus
        self._events = events
        self._reporter = reporter
        self.engine: Engine = engine or LocalEngine(gpus, events)
        self.default_workers = default_workers
        self._resolve = resolve or (
            lambda url: resolve_url(url, config.model_store, config.allowed_urls)
        )
        self.models: dict[str, dict[str, ModelVersion]] = {}
        self.defaults: dict[str, str] = {}
        self._background: set[asyncio.Task[bool]] = set()
        self._preparing = asyncio.Lock()

    def get(self, name: str, version: str | None) -> ModelVersion:
        """The version (default when None); 404 errors as TorchServe words them."""
        versions = self.models.get(name)
        if versions is None:
            raise model_not_found(name)
        found = versions.get(version if version is not None else self.defaults[name])
        if found is None:
            raise version_not_found(name, str(version))
        return found

    def submit(
        self, name: str, version: str | None, request: Request
    ) -> asyncio.Future[Reply | Stream]:
        """Queue *request* for the model; its future gets the reply or an :class:`ApiError`."""
        model = self.get(name, version)
        future: asyncio.Future[Reply | Stream] = asyncio.get_running_loop().create_future()
        if not model.pool.slots or not model.queue.offer(Job(request, future)):
            raise no_worker(name, version)
        return future

    async def register(
        self,
        url: str | None,
        *,
        name: str | None = None,
        handler: str | None = None,
        runtime: str | None = None,
        params: RegisterParams | None = None,
        synchronous: bool = True,
        startup: bool = False,
        archive: Path | None = None,
    ) -> tuple[int, str]:
        """``POST /models``: load *url* from the store and start its workers."""
        params = params or RegisterParams()
        if url is None:
            raise bad_request("Parameter url is required.")
        if runtime is not None and runtime not in RUNTIMES:
            raise bad_request(f"Invalid RuntimeType value: {runtime}")
        path = archive if archive is not None else self._resolve(url)
        try:
            # One preparation at a time: extraction and environment builds are disk-bound and
            # share caches; the workers of several models still start concurrently.
            async with self._preparing:
                prepared = await asyncio.to_thread(
                    prepare_model, path, name, handler, self._load_options, self._reporter
                )
        except EnvironmentSetupError as exc:
            raise ApiError(400, "ModelException", exc.message) from exc
        except MarToolsError as exc:
            raise ApiError(400, "InvalidModelException", exc.message) from exc
        model_name, version = prepared.name, prepared.version
        if version in self.models.get(model_name, {}):
            raise ApiError(
                409,
                "ConflictStatusException",
                f"Model version {version} is already registered for model {model_name}",
            )
        settings = decide_settings(
            self.config,
            model_name,
            version,
            prepared.model.model_yaml_config,
            params,
            self._gpus.count,
        )
        load = dataclasses.replace(prepared.load, batch_size=settings.batch_size)
        prepared = dataclasses.replace(prepared, load=load)
        entry = self._add(url, prepared, settings, startup)
        minimum, maximum = initial_worker_count(settings, params, self.default_workers)
        if minimum <= 0:
            return 200, (
                f'Model "{model_name}" Version: {version} registered with 0 initial workers. '
                "Use scale workers API to add workers for the model."
            )
        task = entry.pool.scale(minimum, maximum, wait=synchronous)
        if not synchronous:
            self._background.add(asyncio.create_task(task))
            return 202, PROCESSING
        if not await task:
            await self._remove(entry)
            raise ApiError(
                500,
                "InternalServerException",
                f"Failed to start workers for model {model_name} version: {version}",
            )
        return 200, (
            f'Model "{model_name}" Version: {version} registered with {minimum} initial workers'
        )

    def _add(
        self, url: str, prepared: PreparedModel, settings: ModelSettings, startup: bool
    ) -> ModelVersion:
        name, version = prepared.name, prepared.version
        queue = JobQueue(settings.job_queue_size)
        recipe = WorkerRecipe(
            name, version, prepared.python, prepared.env, prepared.model_dir, prepared.load
        )
        pool = self.engine.workers(prepared, recipe, settings, queue)
        entry = ModelVersion(name, version, url, prepared, settings, queue, pool, startup)
        self.models.setdefault(name, {})[version] = entry
        self.defaults.setdefault(name, version)
        return entry

    async def scale(
        self, name: str, version: str | None, minimum: int, maximum: int, synchronous: bool
    ) -> tuple[int, str]:
        """``PUT /models/{name}[/{version}]``: run *minimum* workers, at most *maximum*."""
        if maximum < minimum:
            raise bad_request("max_worker cannot be less than min_worker.")
        entry = self.get(name, version)
        task = entry.pool.scale(minimum, maximum, wait=synchronous)
        if not synchronous:
            self._background.add(asyncio.create_task(task))
            return 202, PROCESSING
        if not await task:
            raise ApiError(
                500,
                "InternalServerException",
                f"Failed to start workers for model {name} version: {version}",
            )
        message = f"Workers scaled to {minimum} for model: {name}"
        return 200, message + (f", version: {version}" if version is not None else "")

    async def unregister(self, name: str, version: str | None) -> str:
        """``DELETE /models/{name}[/{version}]``: stop the workers and forget the version."""
        versions = self.models.get(name)
        if versions is None:
            raise model_not_found(name)
        chosen = version if version is not None else self.defaults[name]
        entry = versions.get(chosen)
        if entry is None:
            raise version_not_found(name, chosen)
        if chosen == self.defaults[name] and len(versions) > 1:
            raise ApiError(
                400,
                "InvalidModelVersionException",
                f"Cannot remove default version for model {name}",
            )
        await self._remove(entry)
        return f'Model "{name}" unregistered'

    async def _remove(self, entry: ModelVersion) -> None:
        versions = self.models.get(entry.name, {})
        versions.pop(entry.version, None)
        if not versions:
            self.models.pop(entry.name, None)
            self.defaults.pop(entry.name, None)
        await entry.pool.stop()
        for job in entry.queue.drain():
            if not job.future.done():
                job.future.set_exception(no_worker(entry.name, None))

    def set_default(self, name: str, version: str) -> str:
        """``PUT /models/{name}/{version}/set-default``."""
        versions = self.models.get(name)
        if versions is None:
            raise model_not_found(name)
        if version not in versions:
            raise ApiError(
                404,
                "ModelVersionNotFoundException",
                f"Model version {version} does not exist for model {name}",
            )
        self.defaults[name] = version
        return f'Default version successfully updated for model "{name}" to "{version}"'

    def listing(self, limit: int, token: int) -> dict[str, Any]:
        """``GET /models``: default versions by name, paginated as TorchServe does."""
        limit = 100 if limit > 100 or limit < 0 else limit
        token = max(0, token)
        names = sorted(self.models)
        last = token + limit
        result: dict[str, Any] = {}
        if last > len(names):
            last = len(names)
        else:
            result["nextPageToken"] = str(last)
        result["models"] = [
            {"modelName": n, "modelUrl": self.get(n, None).url} for n in names[token:last]
        ]
        return result

    async def reload(self, entry: ModelVersion) -> None:
        """Re-prepare *entry*'s model from its source and replace its workers (``--reload``)."""
        self._events.info(f"{entry.name}: files changed; reloading its workers.")
        try:
            prepared = await asyncio.to_thread(
                prepare_model,
                entry.prepared.archive,
                entry.name,
                None,
                self._load_options,
                self._reporter,
            )
        except MarToolsError as exc:
            self._events.warning(f"{entry.name}: reload failed, keeping the old workers: {exc}")
            return
        load = dataclasses.replace(prepared.load, batch_size=entry.settings.batch_size)
        entry.prepared = dataclasses.replace(prepared, load=load)
        await entry.pool.replace(
            WorkerRecipe(
                entry.name, entry.version, prepared.python, prepared.env, prepared.model_dir, load
            )
        )

    def startup_names(self) -> list[str]:
        """Names of the models loaded at start-up (``--models``), sorted."""
        return sorted(n for n, vs in self.models.items() if any(v.startup for v in vs.values()))

    def healthy(self) -> bool:
        """``/ping``: every model's default version has its minimum of live workers."""
        return all(self.get(name, None).pool.healthy() for name in self.models)

    async def stop_all(self) -> None:
        entries = [entry for versions in self.models.values() for entry in versions.values()]
        await asyncio.gather(*(self._remove(entry) for entry in entries))
