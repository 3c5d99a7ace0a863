"""Collects the ``[METRICS]`` lines the metrics cache logs, instead of printing them.

In TorchServe those lines go to the frontend's metrics log, not the model log; ``mar run``
returns them in its JSON output and ``mar serve`` reads them into its metrics. Error lines
about metrics (logged at ERROR) stay visible.

Logging a line costs more than the line is worth (a record, the caller's frame, the handler
chain: about half of a metric's cost for a small model). :meth:`MetricsCapture.take` is the
shortcut mar-tools' ``ts`` uses (``ts.metrics.caching_metric``): it keeps the line directly
when logging it would reach this filter and nothing else, and otherwise leaves it to
logging. The handler's own logging set-up (a handler, a filter or a level anywhere on the
way, a record factory, a logger class of its own) always gets the lines through logging.
"""

from __future__ import annotations

import logging

_INFO = logging.INFO


class MetricsCapture(logging.Filter):
    """A filter for the worker's log handler: keeps metric lines in :attr:`lines`."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        #: The worker's handler on the root logger, the one this filter is attached to.
        self.handler: logging.Handler | None = None

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

    def take(self, logger: logging.Logger, line: str) -> bool:
        """Keep *line* as ``logger.info(line)`` would (True), when that call would end in
        this filter and nowhere else; False (nothing done) when it might not."""
        if (
            not line.startswith("[METRICS]")
            or type(logger) is not logging.Logger
            or logger.disabled
            or logger.filters
            or not logger.isEnabledFor(_INFO)
            or logging.getLogRecordFactory() is not logging.LogRecord
        ):
            return False
        node: logging.Logger | None = logger
        root = logging.root
        while node is not None and node is not root:
            if node.handlers or not node.propagate:
                return False
            node = node.parent
        handler = self.handler
        if (
            node is not root
            or handler is None
            or len(root.handlers) != 1
            or root.handlers[0] is not handler
            or handler.level > _INFO
            or len(handler.filters) != 1
            or handler.filters[0] is not self
        ):
            return False
        self.lines.append(line)
        return True

    def drain(self) -> list[str]:
        """The lines captured since the last call."""
        lines, self.lines = self.lines, []
        return lines
