"""``ts.metrics.metric_cache_abstract``: the metrics API handlers call (``context.metrics``).

Each ``add_*`` method finds the metric of that name and type in the cache, or adds it (so a
metric the metrics config does not declare is created on first use, as TorchServe's backend
does), appends the default dimensions and emits one value. ``get_metric`` of an undeclared
metric raises :class:`MetricsCacheKeyError`.
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH110

from __future__ import annotations

import abc
import os
from typing import Any

from . import metric_cache_errors as merrors
from ._request_id import request_id_for
from .dimension import Dimension
from .metric_abstract import MetricAbstract
from .metric_type_enum import MetricTypes


def _check_path_type(path: Any) -> None:
    """Fail as TorchServe does when *path* is not even usable as a path (None is)."""
    try:
        os.path.exists(path)
    except Exception as exc:
        raise merrors.MetricsCacheTypeError(f"Error loading {path} file: {exc}") from exc


class MetricCacheAbstract(metaclass=abc.ABCMeta):
    """A cache of metrics keyed by type and name, plus the current batch's request ids."""

    def __init__(self, config_file_path: Any) -> None:
        _check_path_type(config_file_path)
        self.config_file_path = config_file_path
        self.model_name: str | None = None
        self.request_ids: Any = None
        self.cache: dict[MetricTypes, dict[str, MetricAbstract]] = {}
        self.store: list[Any] = []

    def _add_default_dims(self, idx: Any, dimensions: list[Dimension]) -> list[Dimension]:
        # Appends to the caller's list, as TorchServe does.
        names = [dim.name for dim in dimensions]
        if idx is None:
            if "Level" not in names:
                dimensions.append(Dimension("Level", "Error"))
        else:
            if "ModelName" not in names:
                dimensions.append(Dimension("ModelName", self.model_name))
            if "Level" not in names:
                dimensions.append(Dimension("Level", "Model"))
        return dimensions

    def set_request_ids(self, request_ids: Any) -> None:
        self.request_ids = request_ids

    def _get_req(self, idx: Any) -> Any:
        """The request id for *idx*, else all ids of the batch joined by commas."""
        return request_id_for(self.request_ids, idx)

    def _record(
        self,
        name: str,
        value: Any,
        unit: str,
        idx: Any,
        dimensions: list[Dimension] | None,
        metric_type: MetricTypes,
    ) -> None:
        req_id = self._get_req(idx)
        dims = self._add_default_dims(req_id, [] if dimensions is None else dimensions)
        metric = self._get_or_add_metric(name, unit, dims, metric_type)
        metric.add_or_update(value, [dim.value for dim in dims], req_id)

    def add_metric(
        self,
        name: str,
        value: Any,
        unit: str,
        idx: Any = None,
        dimensions: list[Dimension] | None = None,
        metric_type: MetricTypes = MetricTypes.COUNTER,
    ) -> None:
        """Add a value of any metric (a counter unless *metric_type* says otherwise)."""
        self._record(name, value, unit, idx, dimensions, metric_type)

    def add_counter(
        self,
        name: str,
        value: Any,
        idx: Any = None,
        dimensions: list[Dimension] | None = None,
    ) -> None:
        """Add to a counter (unit ``count``)."""
        self._record(name, value, "count", idx, dimensions, MetricTypes.COUNTER)

    def add_time(
        self,
        name: str,
        value: Any,
        idx: Any = None,
        unit: str = "ms",
        dimensions: list[Dimension] | None = None,
        metric_type: MetricTypes = MetricTypes.GAUGE,
    ) -> None:
        """Add a duration in ``ms`` or ``s`` (a gauge by default)."""
        if unit not in ["ms", "s"]:
            raise merrors.MetricsCacheValueError(
                "the unit for a timed metric should be one of ['ms', 's']"
            )
        self._record(name, value, unit, idx, dimensions, metric_type)

    def add_size(
        self,
        name: str,
        value: Any,
        idx: Any = None,
        unit: str = "MB",
        dimensions: list[Dimension] | None = None,
        metric_type: MetricTypes = MetricTypes.GAUGE,
    ) -> None:
        """Add a size in ``MB``, ``kB``, ``GB`` or ``B`` (a gauge by default)."""
        if unit not in ["MB", "kB", "GB", "B"]:
            raise ValueError("The unit for size based metric is one of ['MB','kB', 'GB', 'B']")
        self._record(name, value, unit, idx, dimensions, metric_type)

    def add_percent(
        self,
        name: str,
        value: Any,
        idx: Any = None,
        dimensions: list[Dimension] | None = None,
        metric_type: MetricTypes = MetricTypes.GAUGE,
    ) -> None:
        """Add a percentage (a gauge by default)."""
        self._record(name, value, "percent", idx, dimensions, metric_type)

    def add_error(self, name: str, value: Any, dimensions: list[Dimension] | None = None) -> None:
        """Add to an error counter (dimension ``Level:Error``, no request id)."""
        dims = self._add_default_dims(None, [] if dimensions is None else dimensions)
        metric = self._get_or_add_metric(name, "", dims, MetricTypes.COUNTER)
        metric.add_or_update(value, [dim.value for dim in dims])

    def _get_or_add_metric(
        self, metric_name: str, unit: str, dimensions: list[Dimension], metric_type: MetricTypes
    ) -> MetricAbstract:
        try:
            return self.get_metric(metric_name, metric_type)
        except merrors.MetricsCacheKeyError:
            return self.add_metric_to_cache(
                metric_name=metric_name,
                unit=unit,
                metric_type=metric_type,
                dimension_names=[dim.name for dim in dimensions],
            )

    @staticmethod
    def _check_type(variable: Any, expected_type: type, helper_text: str) -> None:
        if not isinstance(variable, expected_type):
            raise merrors.MetricsCacheTypeError(helper_text)

    @abc.abstractmethod
    def initialize_cache(self) -> None:
        """Create the metrics the configuration declares."""

    @abc.abstractmethod
    def get_metric(
        self, metric_name: str, metric_type: MetricTypes = MetricTypes.COUNTER
    ) -> MetricAbstract:
        """The cached metric; :class:`MetricsCacheKeyError` when there is none."""

    @abc.abstractmethod
    def add_metric_to_cache(
        self,
        metric_name: str,
        unit: str,
        dimension_names: list[str] | None = None,
        metric_type: MetricTypes = MetricTypes.COUNTER,
    ) -> MetricAbstract:
        """Create a metric and put it in the cache (replacing one of the same name)."""
