"""The conversation with a worker: the messages ``mar run`` sends, and what each answer means.

``load`` (model, manifest, handler, device, batch size, envelope, metrics configuration,
and two pickled blobs: the parsed metrics configuration and model-config.yaml) is answered
by ``loaded``, ``load_failed`` (with a ``kind``: device, metrics-config, handler or
exception) or ``fatal``; each ``predict`` (one batch, built by
:func:`mar_tools.worker.inputs.batch_message`) by ``response`` (the backend frames, bodies
as blobs) or ``fatal``. The worker ending without an answer means it died.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mar_tools.core.errors import DeviceUnavailable, LoadFailed, UsageError, WorkerDied
from mar_tools.run.process import WorkerProcess


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
            f"{header['reason']}: {_exception(header)}", details=header.get("traceback", "")
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
        f"the model failed to load: {_exception(header)}",
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
            f"{header['reason']} while handling batch {number + 1}: {_exception(header)}",
            details=header.get("traceback", ""),
        )
    return header, blobs


def _exception(header: dict[str, Any]) -> str:
    """``Type: message`` of the exception a worker message describes (``Type`` alone when
    the message is empty, as the last line of a traceback shows it)."""
    message = str(header.get("message", ""))
    return f"{header.get('error_type')}: {message}" if message else str(header.get("error_type"))
