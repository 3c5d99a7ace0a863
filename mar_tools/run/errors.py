"""Errors of ``mar run`` beyond the shared ones, each with its exit code."""

from __future__ import annotations

from mar_tools.errors import ExitCode, MarToolsError


class LoadFailed(MarToolsError):
    """The handler failed to import or initialize; ``details`` is its trimmed traceback."""

    exit_code = ExitCode.LOAD

    def __init__(self, message: str, *, hint: str | None = None, details: str = "") -> None:
        super().__init__(message, hint=hint)
        self.details = details


class DeviceUnavailable(MarToolsError):
    """``--gpu``/``--device`` asked for a device this machine does not have."""

    exit_code = ExitCode.DEVICE


class WorkerDied(MarToolsError):
    """The worker process ended without answering (crash, signal, ``sys.exit`` in a handler)."""

    exit_code = ExitCode.WORKER

    def __init__(self, message: str, *, hint: str | None = None, details: str = "") -> None:
        super().__init__(message, hint=hint)
        self.details = details
