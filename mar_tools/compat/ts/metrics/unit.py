"""``ts.metrics.unit``: short unit names and the names metric lines carry."""

from __future__ import annotations


class Units:
    """``units`` maps a short unit (``ms``, ``MB``...) to the name printed in metric lines."""

    def __init__(self) -> None:
        self.units: dict[str | None, str] = {
            "ms": "Milliseconds",
            "s": "Seconds",
            "percent": "Percent",
            "count": "Count",
            "MB": "Megabytes",
            "GB": "Gigabytes",
            "kB": "Kilobytes",
            "B": "Bytes",
            "": "unit",
            None: "unit",
        }
