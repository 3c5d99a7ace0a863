"""Latency statistics for ``--repeat``: percentiles by linear interpolation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The *q*-th percentile (0..100) of *values*, interpolating between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class LatencySummary:
    """p50/p90/p99, min and max of per-batch latencies in milliseconds."""

    count: int
    p50: float
    p90: float
    p99: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, latencies_ms: Sequence[float]) -> LatencySummary:
        return cls(
            count=len(latencies_ms),
            p50=percentile(latencies_ms, 50),
            p90=percentile(latencies_ms, 90),
            p99=percentile(latencies_ms, 99),
            minimum=min(latencies_ms),
            maximum=max(latencies_ms),
        )
