"""Collects the ``[METRICS]`` lines the metrics cache logs, instead of printing them.

In TorchServe those lines go to the frontend's metrics log, not the model log; ``mar run``
returns them in its JSON output. Error lines about metrics (logged at ERROR) stay visible.
"""

from __future__ import annotations

import logging


class MetricsCapture(logging.Filter):
    """A filter for the worker's log handler: keeps metric lines in :attr:`lines`."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            try:
                message = record.getMessage()
            except Exception:
                # A bad format string in the handler's own logging call: let the handler's
                # emit() report it ("--- Logging error ---") as it would in TorchServe,
                # instead of raising into the handler from here.
                return True
            if message.startswith("[METRICS]"):
                self.lines.append(message)
                return False
        return True

    def drain(self) -> list[str]:
        """The lines captured since the last call."""
        lines, self.lines = self.lines, []
        return lines
