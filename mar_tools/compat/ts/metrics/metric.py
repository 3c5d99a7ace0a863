"""``ts.metrics.metric``: the legacy ``Metric`` of ``MetricsStore`` (before the metrics cache).

A ``Metric`` remembers the value and dimensions it was created with; :meth:`Metric.update`
and :meth:`Metric.reset` emit a ``[METRICS]`` line through a counter
:class:`~ts.metrics.caching_metric.CachingMetric` without changing the remembered value
(as TorchServe 0.12, whose ``MetricsStore`` is marked deprecated). ``str(metric)`` is the
old log format ``<name>.<unit>:<value>|#<Dim:value,...>|#hostname:<host>,<epoch>[,<id>]``.
"""

from __future__ import annotations

import socket
import time
from collections import OrderedDict
from typing import Any

from .caching_metric import CachingMetric
from .dimension import Dimension
from .metric_type_enum import MetricTypes
from .unit import Units

MetricUnit = Units()


class Metric:
    """One legacy metric: *name*, *value*, *unit* (short names become long ones, ``ms`` ->
    ``Milliseconds``), *dimensions* (:class:`Dimension` objects), the request id it belongs
    to and an optional free-form *metric_method*."""

    def __init__(
        self,
        name: str,
        value: Any,
        unit: str,
        dimensions: list[Dimension],
        request_id: str | None = None,
        metric_method: Any = None,
    ) -> None:
        self.metric_type = MetricTypes.COUNTER
        self.dimensions = dimensions
        self.dimension_names = [dimension.name for dimension in dimensions]
        self.dimension_values = [dimension.value for dimension in dimensions]
        self._caching_metric = CachingMetric(
            metric_name=name,
            unit=unit,
            dimension_names=self.dimension_names,
            metric_type=self.metric_type,
        )
        # The names as the caching metric normalised them.
        self.name, self.unit = self._caching_metric.metric_name, self._caching_metric.unit
        self.value, self.request_id, self.metric_method = value, request_id, metric_method

    def _emit(self, value: Any) -> None:
        self._caching_metric.add_or_update(value, self.dimension_values, request_id=self.request_id)

    def update(self, value: Any) -> None:
        """Emit *value* for this metric's dimensions (``self.value`` stays as created)."""
        self._emit(value)

    def reset(self) -> None:
        """Emit 0 for this metric's dimensions."""
        self._emit(0)

    def __str__(self) -> str:
        dimensions = ",".join(str(dimension) for dimension in self.dimensions)
        line = (
            f"{self.name}.{self.unit}:{self.value}|#{dimensions}"
            f"|#hostname:{socket.gethostname()},{int(time.time())}"
        )
        return f"{line},{self.request_id}" if self.request_id else line

    def to_dict(self) -> OrderedDict[str, Any]:
        """The metric as an ordered mapping (``Dimensions`` holds the Dimension objects)."""
        return OrderedDict(
            [
                ("MetricName", self.name),
                ("Value", self.value),
                ("Unit", self.unit),
                ("Dimensions", self.dimensions),
                ("Timestamp", int(time.time())),
                ("HostName", socket.gethostname()),
                ("RequestId", self.request_id),
            ]
        )
