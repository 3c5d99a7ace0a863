"""``ts.metrics.dimension``: a metric dimension, printed as ``Name:value``."""

from __future__ import annotations

from typing import Any


class Dimension:
    """A name/value pair attached to a metric value."""

    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self.value = value

    def __str__(self) -> str:
        return f"{self.name}:{self.value}"

    def to_dict(self) -> dict[str, Any]:
        return {"Name": self.name, "Value": self.value}
