"""The conversation with a worker: the messages ``mar run`` sends, and what each answer means.

``load`` (model, handler, device, batch size, envelope, metrics configuration, and two
pickled blobs: the parsed metrics configuration and model-config.yaml) is answered by
``loaded``, ``load_failed`` (with a ``kind``: device, metrics-config, handler or exception)
or ``fatal``; each ``predict`` (one batch: request ids, headers, parameters; the parameter
values as blobs) by ``response`` (the backend frames, bodies as blobs) or ``fatal``. The
worker ending without an answer means it died.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mar_tools.errors import UsageError
from mar_tools.run.errors import DeviceUnavailable, LoadFailed, WorkerDied
from mar_tools.run.inputs import Request
from mar_tools.run.process import WorkerProcess


def predict_message(number: int, batch: Sequence[Request]) -> tuple[dict[str, Any], list[bytes]]:
    """The ``predict`` message of batch *number*."""
    blobs = [parameter.value for request in batch for parameter in request.parameters]
    header = {
        "type": "predict",
        "batch": number,
        "requests": [
            {
                "id": request.request_id,
                "headers": [list(pair) for pair in request.headers],
                "parameters": [[p.name, p.content_type] for p in request.parameters],
            }
            for request in batch
        ],
    }
    return header, blobs


def expect_loaded(worker: WorkerProcess, metrics_path: Path) -> dict[str, Any]:
    """The ``loaded`` message; raises the error a failed load maps to."""
    received = worker.receive()
    if received is None:
        raise WorkerDied(
            f"the worker process ended before loading the model ({worker.describe_exit()}).",
            hint="run without --quiet to see its output.",
        )
    header, _ = received
    kind = header.get("type")
    if kind == "loaded":
        return header
    if kind == "fatal":
        raise WorkerDied(
            f"{header['reason']}: {header['error_type']}: {header['message']}",
            details=header.get("traceback", ""),
        )
    failure_kind = header.get("kind")
    message = str(header.get("message", ""))
    hint = header.get("hint")
    if failure_kind == "device":
        raise DeviceUnavailable(message, hint=hint)
    if failure_kind == "metrics-config":
        raise UsageError(
            f"--metrics-config {metrics_path}: {message}",
            hint="TorchServe's worker would not start with this file either.",
        )
    if failure_kind == "handler":
        raise LoadFailed(f"the model failed to load: {message}", hint=hint)
    raise LoadFailed(
        f"the model failed to load: {header.get('error_type')}: {message}",
        details=str(header.get("traceback", "")),
    )


def expect_response(worker: WorkerProcess, number: int) -> tuple[dict[str, Any], list[bytes]]:
    """The ``response`` to batch *number*; raises :class:`WorkerDied` when there is none."""
    received = worker.receive()
    if received is None:
        raise WorkerDied(
            f"the worker process died while handling batch {number + 1} "
            f"({worker.describe_exit()}).",
            hint="run without --quiet to see its output.",
        )
    header, blobs = received
    if header.get("type") == "fatal":
        raise WorkerDied(
            f"{header['reason']} while handling batch {number + 1}: "
            f"{header['error_type']}: {header['message']}",
            details=header.get("traceback", ""),
        )
    return header, blobs
