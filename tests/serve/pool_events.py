"""The events a worker pool reports, recorded for tests that drive a pool directly."""

from __future__ import annotations

from collections.abc import Sequence

from mar_tools.serve.jobs import Job


class RecordingEvents:
    """A :class:`~mar_tools.serve.pool.PoolEvents` keeping the warnings (the rest is
    dropped); ``writes`` is for a test to record the chunks written to a worker's pipe."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        #: Chunks written to the worker's input pipe, per write.
        self.writes: list[int] = []

    def worker_loaded(self, worker_name: str, elapsed_ms: float) -> None:
        pass

    def backend_metrics(self, lines: Sequence[str]) -> None:
        pass

    def batch_done(self, jobs: Sequence[Job], name: str, overhead_ms: float) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        self.warnings.append(message)
