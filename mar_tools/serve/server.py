"""``mar serve`` as a library call: start the APIs and the startup models, serve until asked
to stop, then drain.

:func:`serve` runs until :meth:`Server.request_stop` (the CLI calls it on SIGTERM / Ctrl-C):
the listeners stop accepting connections, requests in flight are answered (up to
``drain_seconds``), then the workers are stopped and the key file removed. Startup models
are registered concurrently and the listeners open at once: a prediction that arrives while
the model loads waits in its queue, as in TorchServe. aiohttp is imported in a thread while
the first workers start, so the Python start-up of both overlaps.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mar_tools.core.errors import UsageError
from mar_tools.core.reporter import Reporter
from mar_tools.run.yaml_file import read_yaml
from mar_tools.serve.config import Address, ServerConfig, parse_model_specs
from mar_tools.serve.engine import Engine, LocalEngine
from mar_tools.serve.errors import ApiError
from mar_tools.serve.gpus import GpuAssigner, GpuProbe, nvidia_smi_probe
from mar_tools.serve.jobs import Job
from mar_tools.serve.loading import DEFAULT_METRICS_CONFIG, LoadOptions
from mar_tools.serve.metrics import MetricsStore
from mar_tools.serve.registry import Registry
from mar_tools.serve.snapshot import SnapshotModel, snapshot_models
from mar_tools.serve.tokens import TokenStore

if TYPE_CHECKING:
    from aiohttp import web


@dataclass(frozen=True)
class ServeOptions:
    """What to serve and how, beyond ``config.properties``."""

    config: ServerConfig
    archives: tuple[Path, ...] = ()
    reload: bool = False
    drain_seconds: float = 30.0
    key_file_dir: Path = field(default_factory=Path.cwd)
    cache_dir: Path | None = None
    gpu_probe: GpuProbe = nvidia_smi_probe
    #: ``local`` (worker processes on this machine) or ``ray`` (a Ray Serve deployment per
    #: model version; see docs/scale.md).
    engine: str = "local"
    #: ``--ray-address``: a cluster to join (``auto``: the local node's); None starts a
    #: private Ray instance that lives as long as the server.
    ray_address: str | None = None
    #: ``--kserve``: where KServe's protocol is served (see :mod:`mar_tools.serve.kserve`).
    kserve_address: Address | None = None


class _Events:
    """The pools' events, fed to the metrics and the log."""

    def __init__(self, metrics: MetricsStore, log: Reporter) -> None:
        self._metrics = metrics
        self._log = log

    def worker_loaded(self, worker_name: str, elapsed_ms: float) -> None:
        self._metrics.count(
            "WorkerLoadTime", (worker_name, "Host", self._metrics.hostname), round(elapsed_ms)
        )
        self._log.info(f"{worker_name}: model loaded in {elapsed_ms:.0f} ms.")

    def backend_metrics(self, lines: Sequence[str]) -> None:
        if lines:
            self._metrics.backend_lines(lines)

    def batch_done(self, jobs: Sequence[Job], name: str, overhead_ms: float) -> None:
        now = time.perf_counter()
        metrics = self._metrics
        for job in jobs:
            labels = (name, "default", metrics.hostname)
            metrics.count("ts_inference_latency_microseconds", labels, (now - job.received) * 1e6)
            metrics.count(
                "ts_queue_latency_microseconds", labels, (job.scheduled - job.received) * 1e6
            )
            metrics.host("QueueTime", round((job.scheduled - job.received) * 1000))
        metrics.host("WorkerThreadTime", round(overhead_ms))

    def info(self, message: str) -> None:
        self._log.info(message)

    def warning(self, message: str) -> None:
        self._log.warning(message)


class Server:
    """A running server (see the module docstring)."""

    def __init__(self, options: ServeOptions, log: Reporter) -> None:
        self.options = options
        self.log = log
        config = options.config
        gpu_count = config.number_of_gpu
        if gpu_count is None:
            gpu_count = options.gpu_probe()
        self.gpus = GpuAssigner(gpu_count)
        document = read_yaml(config.metrics_config or DEFAULT_METRICS_CONFIG, "metrics config")
        self.metrics = MetricsStore(
            document,
            enabled=config.metrics_mode == "prometheus" and config.enable_metrics_api,
            auto_detect=config.model_metrics_auto_detect,
        )
        load_options = LoadOptions(
            envelope=config.service_envelope,
            metrics_config=config.metrics_config,
            install_dependencies=config.install_py_dep_per_model,
            decode_input_request=config.decode_input_request,
            limit_max_image_pixels=config.limit_max_image_pixels,
            blacklist_env_vars=config.blacklist_env_vars,
            default_handler=config.default_service_handler,
            cache_dir=options.cache_dir,
        )
        workers = config.workers_per_model(os.cpu_count() or 1, gpu_count)
        events = _Events(self.metrics, log)
        engine = _engine(options, load_options, self.gpus, events, log)
        self.registry = Registry(
            config, load_options, self.gpus, events, log, workers, engine=engine
        )
        self.tokens: TokenStore | None = None
        self._stop = asyncio.Event()
        self._runners: list[Any] = []
        self.ports: dict[str, int] = {}

    def request_stop(self) -> None:
        """Begin the graceful stop (safe to call from a signal handler on the loop)."""
        self._stop.set()

    async def run(self) -> None:
        """Serve until :meth:`request_stop`; see the module docstring."""
        config = self.options.config
        if not config.disable_token_authorization:
            self.tokens = TokenStore(
                self.options.key_file_dir / "key_file.json", config.token_expiration_min
            )
            self.log.info(f"token authorization is on; keys are in {self.tokens.path}.")
        await self.registry.engine.start()
        loading = asyncio.create_task(self._load_startup_models())
        await asyncio.to_thread(importlib.import_module, "aiohttp.web")
        from mar_tools.serve.listeners import open_listeners

        try:
            self._runners, self.ports = await open_listeners(self)
            for name, port in self.ports.items():
                self.log.info(f"{name} API listening on port {port}.")
            reloader = None
            if self.options.reload:
                from mar_tools.serve.reload import watch_models

                reloader = asyncio.create_task(watch_models(self.registry, self.log))
            await self._stop.wait()
            self.log.info("stopping: finishing the requests in flight...")
            if reloader is not None:
                reloader.cancel()
            loading.cancel()
            await self._close_listeners()
        finally:
            await self.registry.stop_all()
            await self.registry.engine.close()
            if self.tokens is not None:
                self.tokens.remove_file()
            self.log.info("stopped.")

    async def _close_listeners(self) -> None:
        runners: list[web.BaseRunner] = self._runners
        await asyncio.gather(*(runner.shutdown() for runner in runners))
        await asyncio.gather(*(runner.cleanup() for runner in runners))

    async def _load_startup_models(self) -> None:
        config = self.options.config
        jobs: list[tuple[str | None, str, Path | None]] = [
            (None, str(path), path) for path in self.options.archives
        ]
        specs = parse_model_specs(config.load_models)
        if any(url == "all" and name is None for name, url in specs):
            store = config.model_store
            names = sorted(p.name for p in store.iterdir()) if store and store.is_dir() else []
            specs = [(None, n) for n in names if not n.startswith(".")]
        jobs += [(name, url, None) for name, url in specs if url != "all"]
        snapshot = snapshot_models(config.model_snapshot)
        if snapshot:  # as in TorchServe, a snapshot replaces load_models
            jobs = [(None, str(path), path) for path in self.options.archives]
        await asyncio.gather(
            *(self._register(name, url, path) for name, url, path in jobs),
            *(self._restore(model) for model in snapshot),
        )

    async def _restore(self, model: SnapshotModel) -> None:
        """Register one ``model_snapshot`` version with its settings and worker bounds."""
        try:
            status, message = await self.registry.register(
                model.mar_name, name=model.name, params=model.params, startup=True
            )
            low, high = model.min_workers, model.max_workers
            if low is not None and high is not None and high > low:
                await self.registry.scale(model.name, model.version, low, high, True)
            if model.default:
                self.registry.set_default(model.name, model.version)
        except ApiError as exc:
            self.log.warning(f"{model.mar_name}: {exc.message}")
            return
        self.log.info(message if status == 200 else f"{model.mar_name}: {message}")

    async def _register(self, name: str | None, url: str, path: Path | None) -> None:
        try:
            status, message = await self.registry.register(
                url, name=name, startup=True, archive=path
            )
        except ApiError as exc:
            self.log.warning(f"{url}: {exc.message}")
            return
        self.log.info(message if status == 200 else f"{url}: {message}")


def _engine(
    options: ServeOptions,
    load_options: LoadOptions,
    gpus: GpuAssigner,
    events: _Events,
    log: Reporter,
) -> Engine:
    """The engine *options* ask for; the Ray engine (and so ray) is imported only here."""
    if options.engine == "local":
        return LocalEngine(gpus, events)
    if options.engine != "ray":
        raise UsageError(f"--engine {options.engine}: not one of local, ray.")
    try:
        from mar_tools.serve.ray_engine import RayEngine
    except ImportError as exc:
        raise UsageError(
            f"--engine ray needs Ray Serve, which cannot be imported here ({exc}).",
            hint="pip install 'mar-tools[ray]'",
        ) from exc
    return RayEngine(options.config, load_options, gpus, events, log, options.ray_address)


async def serve(options: ServeOptions, log: Reporter, server: Server | None = None) -> None:
    """Run a :class:`Server` for *options* until it is asked to stop."""
    await (server or Server(options, log)).run()
