"""``mar serve --engine ray``: the engine that makes each model version a Ray Serve
deployment.

:meth:`RayEngine.start` joins the cluster at ``--ray-address`` (``auto``: the one this node
belongs to) or, without it, starts a private Ray instance on this machine that
:meth:`RayEngine.close` stops again. Serve runs without its HTTP proxies: ``mar serve``'s own
listeners are the only way in, so clients see TorchServe's API unchanged. The
scheduling, the routing of each request to a replica, health checks, replacement of dead
replicas and autoscaling are Ray's; the engine only deploys, re-sizes and deletes.

Once a second the engine reads Serve's status (one call for all models) so that ``/ping``,
``describe`` and KServe's readiness answer without waiting on Ray. When
``number_of_gpu`` is not set, the cluster's GPUs count as the server's GPUs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from typing import Any

import ray
from ray import serve

from mar_tools.core.errors import UsageError
from mar_tools.core.reporter import Reporter
from mar_tools.serve.config import ServerConfig
from mar_tools.serve.engine import ModelWorkers
from mar_tools.serve.gpus import GpuAssigner
from mar_tools.serve.jobs import JobQueue
from mar_tools.serve.loading import LoadOptions, PreparedModel
from mar_tools.serve.model_settings import ModelSettings
from mar_tools.serve.pool import PoolEvents, WorkerRecipe
from mar_tools.serve.ray_engine.deployment import AppState, RayModelWorkers
from mar_tools.serve.ray_engine.ray_metrics import merge_expositions, scrape
from mar_tools.serve.ray_engine.replica import ModelPlan

STATUS_SECONDS = 1.0
#: Set unless already set. Ray Serve's router gives up on a replica's queue length after
#: the deadline (its default, 0.1 s, is too short for a busy machine and floods the log).
#: Ray's crash handler would catch SIGTERM, print a stack and kill the server before it
#: drains and stops its deployments: mar serve handles SIGTERM itself.
_RAY_ENV = {
    "RAY_SERVE_QUEUE_LENGTH_RESPONSE_DEADLINE_S": "1.0",
    "RAY_DISABLE_FAILURE_SIGNAL_HANDLER": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
}


class RayEngine:
    """The Ray Serve engine (see the module docstring)."""

    name = "ray"

    def __init__(
        self,
        config: ServerConfig,
        load_options: LoadOptions,
        gpus: GpuAssigner,
        events: PoolEvents,
        log: Reporter,
        address: str | None,
    ) -> None:
        self._config = config
        self._load_options = load_options
        self._gpus = gpus
        self._events = events
        self._log = log
        self._address = address
        self._states: dict[str, AppState] = {}
        self._poller: asyncio.Task[None] | None = None
        self._connected = False

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self._connect)
        except UsageError:
            raise
        except Exception as exc:
            where = self._address or "a local Ray instance"
            raise UsageError(f"--engine ray: cannot start or join {where}: {exc}") from exc
        self._poller = asyncio.create_task(self._poll())

    def _connect(self) -> None:
        for key, value in _RAY_ENV.items():
            os.environ.setdefault(key, value)
        logging.getLogger("ray").setLevel(logging.ERROR)
        settings: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.ERROR,
        }
        if self._address is not None:
            ray.init(address=self._address, **settings)
            self._log.info(f"joined the Ray cluster at {self._address}.")
        else:
            ray.init(**settings)
            self._log.info("started a local Ray instance (stopped with the server).")
        self._connected = True
        serve.start(proxy_location="Disabled")
        logging.getLogger("ray.serve").setLevel(logging.WARNING)
        if self._config.number_of_gpu is None:
            resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
            self._gpus.count = int(resources.get("GPU", 0))

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self._connected:
            await asyncio.to_thread(self._disconnect)

    def _disconnect(self) -> None:
        if self._address is None:
            with contextlib.suppress(Exception):
                serve.shutdown()  # type: ignore[no-untyped-call]
        ray.shutdown()
        self._connected = False

    def workers(
        self,
        prepared: PreparedModel,
        recipe: WorkerRecipe,
        settings: ModelSettings,
        queue: JobQueue,
    ) -> ModelWorkers:
        plan = ModelPlan(
            archive=prepared.archive.absolute(),
            name=prepared.name,
            version=prepared.version,
            handler=recipe.load.handler,
            load_options=self._load_options,
            settings=settings,
        )
        return RayModelWorkers(plan, self._config, queue, self._events, self._state)

    def _state(self, app: str) -> AppState | None:
        return self._states.get(app)

    async def _poll(self) -> None:
        while True:
            try:
                self._states = await asyncio.to_thread(_app_states)
            except Exception as exc:  # the controller may be restarting: keep the last view
                self._log.warning(f"Ray Serve status unavailable: {exc}")
            await asyncio.sleep(STATUS_SECONDS)

    async def metrics_text(self, names: Sequence[str]) -> bytes:
        """Ray's own metrics from every live node (after TorchServe's)."""
        if not self._connected:
            return b""
        texts = await asyncio.to_thread(lambda: scrape(_metrics_addresses()))
        return merge_expositions(texts, names)


def _app_states() -> dict[str, AppState]:
    states: dict[str, AppState] = {}
    for name, app in serve.status().applications.items():
        running = starting = 0
        for deployment in app.deployments.values():
            for state, count in deployment.replica_states.items():
                if str(getattr(state, "value", state)) == "RUNNING":
                    running += int(count)
                else:
                    starting += int(count)
        states[name] = (str(getattr(app.status, "value", app.status)), running, starting)
    return states


def _metrics_addresses() -> list[tuple[str, int]]:
    return [
        (str(node["NodeManagerAddress"]), int(node["MetricsExportPort"]))
        for node in ray.nodes()  # type: ignore[no-untyped-call]
        if node.get("Alive") and node.get("MetricsExportPort")
    ]


__all__ = ["RayEngine"]
