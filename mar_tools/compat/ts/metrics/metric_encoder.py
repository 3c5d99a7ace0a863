"""``ts.metrics.metric_encoder``: ``json.dumps(..., cls=MetricEncoder)`` for legacy metrics."""

from __future__ import annotations

import json
from typing import Any

from .dimension import Dimension
from .metric import Metric


class MetricEncoder(json.JSONEncoder):
    """Encodes :class:`Metric` and :class:`Dimension` objects by their ``to_dict()``."""

    def default(self, o: Any) -> Any:
        if isinstance(o, (Metric, Dimension)):
            return o.to_dict()
        return super().default(o)
