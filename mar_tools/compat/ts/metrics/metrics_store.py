"""``ts.metrics.metrics_store``: the legacy (deprecated) ``MetricsStore`` of older handlers.

A handler builds one with the batch's request ids and the model name and adds metrics with
``add_counter``, ``add_time``, ``add_size``, ``add_percent``, ``add_error`` and
``add_metric``. Each call appends the default dimensions to the given list (``ModelName``
and ``Level:Model``, or ``Level:Error`` without a request id); the first value of a metric
(same name, unit, request id and dimensions) creates a :class:`~ts.metrics.metric.Metric`
in ``store`` and emits nothing, later values emit a ``[METRICS]`` line.

Two quirks of TorchServe 0.12 are kept, because handlers observe them: only
``add_counter`` honours the *dimensions* argument (the other methods pass it where the
metric method goes, so it ends up in ``Metric.metric_method``), and the caller's
dimension list is extended in place.
"""

from __future__ import annotations

from typing import Any

from ._request_id import request_id_for
from .dimension import Dimension
from .metric import Metric

_TIME_UNITS = ("ms", "s")
_SIZE_UNITS = ("MB", "kB", "GB", "B")


class MetricsStore:
    """Metrics of one batch: ``store`` (every :class:`Metric` in creation order) and
    ``cache`` (the same metrics by key)."""

    def __init__(self, request_ids: Any, model_name: str) -> None:
        self.request_ids = request_ids
        self.model_name = model_name
        self.store: list[Metric] = []
        self.cache: dict[str, Metric] = {}

    def _defaults(self, req_id: Any) -> list[Dimension]:
        if req_id is None:
            return [Dimension("Level", "Error")]
        return [Dimension("ModelName", self.model_name), Dimension("Level", "Model")]

    def _add_or_update(
        self,
        name: str,
        value: Any,
        req_id: Any,
        unit: str,
        metrics_method: Any = None,
        dimensions: Any = None,
    ) -> None:
        """Create the metric on its first value, emit the value on later ones."""
        if dimensions is None:
            dimensions = []
        elif not isinstance(dimensions, list):
            raise ValueError("Please provide a list of dimensions")
        dimensions.extend(self._defaults(req_id))
        key = "-".join([name, unit, str(req_id), *map(str, dimensions)])
        known = self.cache.get(key)
        if known is not None:
            known.update(value)
            return
        created = Metric(name, value, unit, dimensions, req_id, metrics_method)
        self.store.append(created)
        self.cache[key] = created

    def _get_req(self, idx: Any) -> Any:
        """The request id at *idx*, else every id of the batch joined by commas."""
        return request_id_for(self.request_ids, idx)

    def add_counter(self, name: str, value: Any, idx: Any = None, dimensions: Any = None) -> None:
        """Add to a counter (unit ``count``, metric method ``counter``)."""
        self._add_or_update(name, value, self._get_req(idx), "count", "counter", dimensions)

    def add_time(
        self, name: str, value: Any, idx: Any = None, unit: str = "ms", dimensions: Any = None
    ) -> None:
        """Add a duration in ``ms`` or ``s`` (else ``ValueError``)."""
        if unit not in _TIME_UNITS:
            raise ValueError("the unit for a timed metric should be one of ['ms', 's']")
        self._add_or_update(name, value, self._get_req(idx), unit, metrics_method=dimensions)

    def add_size(
        self, name: str, value: Any, idx: Any = None, unit: str = "MB", dimensions: Any = None
    ) -> None:
        """Add a size in ``MB``, ``kB``, ``GB`` or ``B`` (else ``ValueError``)."""
        if unit not in _SIZE_UNITS:
            raise ValueError("The unit for size based metric is one of ['MB','kB', 'GB', 'B']")
        self._add_or_update(name, value, self._get_req(idx), unit, metrics_method=dimensions)

    def add_percent(self, name: str, value: Any, idx: Any = None, dimensions: Any = None) -> None:
        """Add a percentage."""
        self._add_or_update(name, value, self._get_req(idx), "percent", metrics_method=dimensions)

    def add_error(self, name: str, value: Any, dimensions: Any = None) -> None:
        """Add an error metric (no unit, no request id: dimension ``Level:Error``)."""
        self._add_or_update(name, value, None, "", metrics_method=dimensions)

    def add_metric(
        self, name: str, value: Any, unit: str, idx: Any = None, dimensions: Any = None
    ) -> None:
        """Add a metric with a unit of the caller's choice."""
        self._add_or_update(name, value, self._get_req(idx), unit, metrics_method=dimensions)
