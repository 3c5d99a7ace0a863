"""A model version's serving settings, decided as TorchServe's frontend decides them.

Precedence (TorchServe 0.12): the registration's parameters > the archive's
``model-config.yaml`` > the ``models`` JSON of ``config.properties`` > the global defaults.
``model-config.yaml`` values count only when they have the exact type TorchServe accepts
(an int is an int, not ``"4"``) and are positive where the frontend ignores zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mar_tools.serve.config import ServerConfig

DEFAULT_BATCH_SIZE = 1
DEFAULT_MAX_BATCH_DELAY = 100
DEFAULT_MAX_RETRY_TIMEOUT = 300


@dataclass(frozen=True)
class RegisterParams:
    """What a registration asked for (None: not given)."""

    batch_size: int | None = None
    max_batch_delay: int | None = None
    response_timeout: int | None = None
    startup_timeout: int | None = None
    initial_workers: int | None = None


@dataclass(frozen=True)
class ModelSettings:
    """Everything about serving one model version except its workers' count."""

    batch_size: int = DEFAULT_BATCH_SIZE
    max_batch_delay: int = DEFAULT_MAX_BATCH_DELAY
    response_timeout: int = 120
    startup_timeout: int = 120
    job_queue_size: int = 100
    max_retry_timeout_sec: int = DEFAULT_MAX_RETRY_TIMEOUT
    client_timeout_ms: int = 0
    device_type: str = "cpu"
    device_ids: tuple[int, ...] | None = None
    use_venv: bool = False
    config_workers: tuple[int, int] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _int(config: Mapping[str, Any], key: str) -> int | None:
    value = config.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _positive(*candidates: int | None) -> int | None:
    for value in candidates:
        if value is not None and value > 0:
            return value
    return None


def decide_settings(
    server: ServerConfig,
    name: str,
    version: str,
    model_config: Mapping[str, Any],
    params: RegisterParams,
    gpu_count: int,
) -> ModelSettings:
    """The settings of model *name* version *version* (see the module docstring)."""
    json_entry = server.models.get(name, {})
    json_config = json_entry.get(version, {}) if isinstance(json_entry, dict) else {}
    if not isinstance(json_config, dict):
        json_config = {}
    batch = params.batch_size
    if batch is None:
        batch = _positive(_int(model_config, "batchSize"), _int(json_config, "batchSize"))
    delay = params.max_batch_delay
    if delay is None:
        delay = _positive(_int(model_config, "maxBatchDelay"), _int(json_config, "maxBatchDelay"))
    response = _positive(
        _int(model_config, "responseTimeout"),
        _int(json_config, "responseTimeout"),
        params.response_timeout,
        server.default_response_timeout,
    )
    startup = _positive(
        _int(model_config, "startupTimeout"),
        _int(json_config, "startupTimeout"),
        params.startup_timeout,
        server.default_startup_timeout,
    )
    device = str(model_config.get("deviceType", "")).lower()
    device_type = "gpu" if device == "gpu" and gpu_count > 0 else "cpu"
    if device not in ("gpu", "cpu"):
        device_type = "gpu" if gpu_count > 0 else "cpu"
    ids = model_config.get("deviceIds")
    device_ids: tuple[int, ...] | None = None
    if isinstance(ids, list) and ids and all(isinstance(i, int) for i in ids):
        device_ids = tuple(ids) if all(0 <= i < gpu_count for i in ids) else None
    minimum, maximum = _int(model_config, "minWorkers"), _int(model_config, "maxWorkers")
    workers = None
    if minimum is not None and maximum is not None and minimum > 0 and maximum >= minimum:
        workers = (minimum, maximum)
    elif isinstance(json_config.get("minWorkers"), int) and json_config["minWorkers"] > 0:
        low = json_config["minWorkers"]
        workers = (low, max(low, json_config.get("maxWorkers", low)))
    return ModelSettings(
        batch_size=max(1, batch) if batch is not None and batch > 0 else DEFAULT_BATCH_SIZE,
        max_batch_delay=delay if delay is not None and delay > 0 else DEFAULT_MAX_BATCH_DELAY,
        response_timeout=response or 120,
        startup_timeout=startup or 120,
        job_queue_size=_positive(_int(model_config, "jobQueueSize")) or server.job_queue_size,
        max_retry_timeout_sec=max(0, _int(model_config, "maxRetryTimeoutInSec") or 300),
        client_timeout_ms=max(0, _int(model_config, "clientTimeoutInMills") or 0),
        device_type=device_type,
        device_ids=device_ids,
        use_venv=model_config.get("useVenv") is True,
        config_workers=workers,
    )


def initial_worker_count(
    settings: ModelSettings, params: RegisterParams, default_workers: int
) -> tuple[int, int]:
    """``(min, max)`` workers at registration: model-config's pair, else the initial count."""
    if settings.config_workers is not None:
        return settings.config_workers
    count = params.initial_workers if params.initial_workers is not None else default_workers
    return (count, count)
