"""The conversation with a worker: what each answer ``mar run`` receives means.

The messages are those of :mod:`mar_tools.worker.messages`. A :class:`LoadRequest` is
answered by :class:`Loaded`, :class:`LoadFailure` (its ``kind`` decides the error: device,
metrics-config, handler or exception) or :class:`Fatal`; each :class:`Predict` by the
:class:`BatchResponse` with its ``batch_id``, or :class:`Fatal`. The worker ending without
an answer means it died; an answer it should not have sent (or one this version of the
protocol cannot read) ends the run as :class:`WorkerDied` too.
"""

from __future__ import annotations

from pathlib import Path

from mar_tools.core.errors import DeviceUnavailable, LoadFailed, UsageError, WorkerDied
from mar_tools.run.process import WorkerProcess
from mar_tools.worker.messages import (
    BatchResponse,
    Fatal,
    FromWorker,
    Loaded,
    LoadFailure,
    MessageError,
)


def expect_loaded(worker: WorkerProcess, metrics_path: Path) -> Loaded:
    """The :class:`Loaded` answer; raises the error a failed load maps to."""
    message = _receive(worker, ended="ended before loading the model", during="")
    if isinstance(message, Loaded):
        return message
    if isinstance(message, LoadFailure):
        raise _load_error(message, metrics_path)
    raise _unexpected(message, "the load request")


def expect_response(worker: WorkerProcess, number: int) -> BatchResponse:
    """The :class:`BatchResponse` to batch *number*; raises :class:`WorkerDied` when there
    is none."""
    during = f" while handling batch {number + 1}"
    message = _receive(worker, ended=f"died{during}", during=during)
    if not isinstance(message, BatchResponse):
        raise _unexpected(message, f"batch {number + 1}")
    if message.batch_id != number:
        raise WorkerDied(f"the worker answered batch {message.batch_id + 1}{during}.")
    return message


def _receive(worker: WorkerProcess, *, ended: str, during: str) -> FromWorker:
    """The worker's next message. :class:`WorkerDied` when the worker *ended* without one,
    failed (a :class:`Fatal` message) or sent one that cannot be read; *during* says what it
    was doing (empty while it loads)."""
    try:
        message = worker.receive()
    except MessageError as exc:
        raise WorkerDied(f"the worker sent a message mar cannot read{during}: {exc}") from exc
    if message is None:
        raise WorkerDied(
            f"the worker process {ended} ({worker.describe_exit()}).",
            hint="run without --quiet to see its output.",
        )
    if isinstance(message, Fatal):
        raise WorkerDied(
            f"{message.reason}{during}: {message.failure.describe()}",
            details=message.failure.traceback,
        )
    return message


def _load_error(failure: LoadFailure, metrics_path: Path) -> Exception:
    if failure.kind == "device":
        return DeviceUnavailable(failure.message, hint=failure.hint)
    if failure.kind == "metrics-config":
        return UsageError(
            f"--metrics-config {metrics_path}: {failure.message}",
            hint="TorchServe's worker would not start with this file either.",
        )
    if failure.kind == "handler" or failure.failure is None:
        return LoadFailed(f"the model failed to load: {failure.message}", hint=failure.hint)
    return LoadFailed(
        f"the model failed to load: {failure.failure.describe()}",
        hint=_missing_torch_hint(failure.failure.error_type, failure.failure.message),
        details=failure.failure.traceback,
    )


#: What to do when the model's interpreter has no torch (mar-tools itself never needs it).
NO_TORCH_HINT = (
    "torch is not installed where the model runs: pip install 'mar-tools[run]' (torch and "
    "numpy), or list torch in the archive's requirements file."
)


def _missing_torch_hint(error_type: str, message: str) -> str | None:
    """:data:`NO_TORCH_HINT` when the handler failed to import ``torch`` (or a submodule)."""
    if error_type == "ModuleNotFoundError" and (
        message == "No module named 'torch'" or message.startswith("No module named 'torch.")
    ):
        return NO_TORCH_HINT
    return None


def _unexpected(message: FromWorker, request: str) -> WorkerDied:
    return WorkerDied(f"the worker answered {request} with a {message.TYPE!r} message.")
