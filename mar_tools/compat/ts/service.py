"""``ts.service``: the names handlers import from TorchServe's service module.

TorchServe's ``Service`` class (the worker's side of a model) is not here: ``mar run``'s
worker plays that part. Handlers import ``PredictionException`` (re-exported from
:mod:`ts.utils.util`), ``PREDICTION_METRIC`` and the legacy :func:`emit_metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from .utils.util import PredictionException

__all__ = ["PREDICTION_METRIC", "PredictionException", "emit_metrics"]

logger = logging.getLogger(__name__)

#: The metric the worker records for each batch.
PREDICTION_METRIC = "PredictionTime"


def emit_metrics(metrics: Iterable[Any] | None) -> None:
    """Log ``[METRICS]<str(metric)>`` for each legacy metric (nothing for an empty one)."""
    for metric in metrics or ():
        logger.info("[METRICS]%s", str(metric))
