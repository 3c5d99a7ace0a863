"""``GET /models/{name}[/{version}|/all]``: a model version described as TorchServe does.

Keys and their order are TorchServe 0.12's (``DescribeModelResponse``; Gson leaves out what
is null, like ``deviceIds`` on the CPU). ``memoryUsage`` is 0 and ``gpuUsage`` ``N/A`` as
TorchServe reports them without its system metrics.
"""

from __future__ import annotations

from typing import Any

from mar_tools.serve.registry import ModelVersion, Registry


def describe(registry: Registry, name: str, version: str | None) -> list[dict[str, Any]]:
    """The description list for *name* (every version for ``all``)."""
    if version == "all":
        registry.get(name, None)  # 404 for an unknown model
        entries = list(registry.models[name].values())
    else:
        entries = [registry.get(name, version)]
    return [_one(entry) for entry in entries]


def _one(entry: ModelVersion) -> dict[str, Any]:
    settings = entry.settings
    pool = entry.pool
    manifest = entry.prepared.model.manifest
    result: dict[str, Any] = {
        "modelName": entry.name,
        "modelVersion": entry.version,
        "modelUrl": entry.url,
        "runtime": manifest.runtime or "python",
        "minWorkers": pool.min_workers,
        "maxWorkers": pool.max_workers,
        "batchSize": settings.batch_size,
        "maxBatchDelay": settings.max_batch_delay,
        "responseTimeout": settings.response_timeout,
        "startupTimeout": settings.startup_timeout,
        "maxRetryTimeoutInSec": settings.max_retry_timeout_sec,
        "clientTimeoutInMills": settings.client_timeout_ms,
        "parallelType": "",
        "parallelLevel": 0,
        "deviceType": settings.device_type,
    }
    if settings.device_ids is not None:
        result["deviceIds"] = list(settings.device_ids)
    result.update(
        {
            "continuousBatching": False,
            "useJobTicket": False,
            "useVenv": settings.use_venv,
            "stateful": False,
            "sequenceMaxIdleMSec": 0,
            "sequenceTimeoutMSec": 0,
            "maxNumSequence": 0,
            "maxSequenceJobQueueSize": 0,
            "loadedAtStartup": entry.startup,
            "workers": [
                {
                    "id": str(slot.worker_id),
                    "startTime": slot.start_time.strftime("%Y-%m-%dT%H:%M:%S.")
                    + f"{slot.start_time.microsecond // 1000:03d}Z",
                    "status": "READY" if slot.state == "READY" else "UNLOADING",
                    "memoryUsage": 0,
                    "pid": slot.pid,
                    "gpu": slot.gpu is not None,
                    "gpuUsage": "N/A" if slot.gpu is None else f"gpuId::{slot.gpu}",
                }
                for slot in pool.slots
            ],
            "jobQueueStatus": {
                "remainingCapacity": entry.queue.capacity - entry.queue.pending,
                "pendingRequests": entry.queue.pending,
            },
        }
    )
    return result
