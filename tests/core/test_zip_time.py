"""A zip entry's time as seconds: the same as ``calendar.timegm`` for every DOS date."""

from __future__ import annotations

import calendar

from mar_tools.core.archive.zip_view import _zip_time


def _timegm(date_time: tuple[int, int, int, int, int, int]) -> float | None:
    try:
        return float(calendar.timegm((*date_time, 0, 0, 0)))
    except (ValueError, OverflowError):
        return None


def test_every_dos_date_is_read_as_timegm_reads_it() -> None:
    # A zip's DOS date holds years 1980-2107, months 0-15 and days 0-31 (not all real).
    for year in range(1980, 2108):
        for month in range(16):
            for day in range(32):
                date_time = (year, month, day, 13, 59, 58)
                assert _zip_time(date_time) == _timegm(date_time), date_time


def test_odd_times_and_far_years() -> None:
    for date_time in [
        (1980, 1, 1, 0, 0, 0),
        (2000, 2, 29, 31, 63, 62),  # DOS fields allow hours 31, minutes 63, seconds 62
        (1900, 3, 1, 0, 0, 0),
        (1, 1, 1, 0, 0, 0),
        (9999, 12, 31, 23, 59, 59),
        (2024, 2, 0, 0, 0, 0),
    ]:
        assert _zip_time(date_time) == _timegm(date_time), date_time
    assert _zip_time((10000, 1, 1, 0, 0, 0)) is None
    assert _zip_time((0, 1, 1, 0, 0, 0)) is None
