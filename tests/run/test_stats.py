"""Latency percentiles for --repeat."""

from __future__ import annotations

import pytest

from mar_tools.run.stats import LatencySummary, percentile


def test_percentiles_interpolate_between_closest_ranks() -> None:
    values = [float(n) for n in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 90) == pytest.approx(90.1)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 100.0


def test_order_of_values_does_not_matter() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


def test_single_value_and_summary() -> None:
    summary = LatencySummary.of([7.0])
    assert (summary.count, summary.p50, summary.p99, summary.minimum, summary.maximum) == (
        1, 7.0, 7.0, 7.0, 7.0,
    )  # fmt: skip


def test_no_values() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
