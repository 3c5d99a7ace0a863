"""Latency statistics for ``--repeat``: percentiles by linear interpolation, collected in
bounded memory."""

from __future__ import annotations

import math
from array import array
from collections import Counter
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


class LatencyRecorder:
    """Collects latencies in bounded memory, whatever their number (``--repeat 1000000``).

    The first :data:`EXACT` values are kept as they are, so the percentiles of any run of
    that size are exact; beyond, values go into logarithmic buckets 0.1% wide, so memory
    stays a few hundred kilobytes and a percentile is within 0.1% of the exact one.
    """

    #: How many values are kept exactly.
    EXACT = 100_000
    #: Relative width of a bucket.
    PRECISION = 0.001

    def __init__(self) -> None:
        self._values: array[float] = array("d")
        self._buckets: Counter[int] = Counter()
        self.count = 0
        self.minimum = math.inf
        self.maximum = -math.inf

    def add(self, value: float) -> None:
        """Record one latency (milliseconds)."""
        self.count += 1
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if self._buckets or len(self._values) >= self.EXACT:
            if not self._buckets:
                for kept in self._values:
                    self._buckets[self._bucket(kept)] += 1
                self._values = array("d")
            self._buckets[self._bucket(value)] += 1
        else:
            self._values.append(value)

    def summary(self) -> LatencySummary | None:
        """The summary of everything recorded; None when nothing was."""
        if not self.count:
            return None
        if not self._buckets:
            return LatencySummary.of(self._values)
        return LatencySummary(
            count=self.count,
            p50=self._percentile(50),
            p90=self._percentile(90),
            p99=self._percentile(99),
            minimum=self.minimum,
            maximum=self.maximum,
        )

    def _bucket(self, value: float) -> int:
        return math.floor(math.log(max(value, 1e-6)) / math.log1p(self.PRECISION))

    def _percentile(self, q: float) -> float:
        rank = (self.count - 1) * q / 100
        seen = 0
        for bucket in sorted(self._buckets):
            seen += self._buckets[bucket]
            if seen > rank:
                middle = math.exp((bucket + 0.5) * math.log1p(self.PRECISION))
                return min(max(middle, self.minimum), self.maximum)
        return self.maximum
