"""``ts.metrics.metric_abstract``: what every cached metric has (name, unit, dimensions, type)."""

from __future__ import annotations

import abc
from typing import Any

from .metric_type_enum import MetricTypes
from .unit import Units

MetricUnit = Units()


class MetricAbstract(metaclass=abc.ABCMeta):
    """A named metric; a short unit (``ms``) is stored as its long name (``Milliseconds``)."""

    def __init__(
        self,
        metric_name: str,
        unit: str,
        dimension_names: list[str] | None = None,
        metric_type: MetricTypes = MetricTypes.COUNTER,
    ) -> None:
        self.metric_name = metric_name
        self.unit = MetricUnit.units.get(unit, unit)
        self.dimension_names = dimension_names or []
        self.metric_type = metric_type

    @abc.abstractmethod
    def add_or_update(
        self, value: Any, dimension_values: list[Any], request_id: str | None = ""
    ) -> None:
        """Record *value* for *dimension_values*."""
