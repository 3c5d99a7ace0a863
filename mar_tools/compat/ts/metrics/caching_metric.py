"""``ts.metrics.caching_metric``: a metric that reports each value as a ``[METRICS]`` log line.

The line format is what TorchServe's frontend parses from a worker's output::

    [METRICS]<name>.<unit>:<value>|#<Dim>:<value>,...|#type:<TYPE>|#hostname:<host>,<epoch>
    (followed by ``,<request id>`` when the value belongs to requests)
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from .dimension import Dimension
from .metric_abstract import MetricAbstract
from .metric_type_enum import MetricTypes

logger = logging.getLogger(__name__)
#: Set by mar-tools' worker: keeps a line that ``logger.info`` would hand to the worker's
#: metrics capture and nothing else, without building a log record (returns True), or
#: declines (False) and the line is logged. None outside mar-tools' worker.
line_sink: Callable[[logging.Logger, str], bool] | None = None


class CachingMetric(MetricAbstract):
    """Validates dimension values against the declared names, then logs the metric line."""

    def __init__(
        self,
        metric_name: str,
        unit: str,
        dimension_names: list[str] | None = None,
        metric_type: MetricTypes = MetricTypes.COUNTER,
    ) -> None:
        super().__init__(metric_name, unit, dimension_names, metric_type)

    def _validate_and_get_dimensions(self, dimension_values: list[Any] | None) -> list[Dimension]:
        if dimension_values is None or len(dimension_values) != len(self.dimension_names):
            raise ValueError(
                f"Dimension values: {dimension_values} should "
                f"correspond to Dimension names: {self.dimension_names}"
            )
        return [
            Dimension(name, value)
            for name, value in zip(self.dimension_names, dimension_values, strict=False)
        ]

    def _validate_metric_value(self, value: Any) -> None:
        if self.metric_type == MetricTypes.COUNTER and value < 0:
            raise ValueError("Counter metric update value cannot be negative")

    def emit_metrics(self, request_id: str | None, value: Any, dimension_string: str) -> None:
        """Log the ``[METRICS]`` line (at INFO, as the worker's stdout in TorchServe)."""
        line = (
            f"[METRICS]{self.metric_name}.{self.unit}:{value}|#{dimension_string}|"
            f"#type:{self.metric_type.name}|#hostname:{socket.gethostname()},{int(time.time())}"
        )
        text = f"{line},{request_id}" if request_id else line
        sink = line_sink
        if sink is None or not sink(logger, text):
            logger.info(text)

    def add_or_update(
        self, value: Any, dimension_values: list[Any] | None = None, request_id: str | None = ""
    ) -> None:
        """Emit *value*; wrong dimensions or a negative counter are logged, not raised."""
        dimension_str = ""
        try:
            dimensions = self._validate_and_get_dimensions(
                [] if dimension_values is None else dimension_values
            )
            dimension_str = ",".join(str(d) for d in dimensions)
            self._validate_metric_value(value)
        except ValueError as exc:
            logger.error(
                f"[METRICS]Failed to update metric with name:{self.metric_name} and "
                f"dimensions: {dimension_str} with value: {value}: {exc}"
            )
        else:
            self.emit_metrics(request_id, value, dimension_str)

    def update(
        self, value: Any, request_id: str | None = "", dimensions: list[Dimension] | None = None
    ) -> None:
        """Backwards-compatible API: replace the dimension names by those of *dimensions*."""
        dims = dimensions or []
        logger.warning("Overriding existing dimensions")
        self.dimension_names = [d.name for d in dims]
        self.add_or_update(value, [d.value for d in dims], request_id)
