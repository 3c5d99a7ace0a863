"""A class handler whose package comes from the archive's requirements file.

``requirements.txt`` names a wheel shipped in the archive root (built by the suite), so
TorchServe (``install_py_dep_per_model=true``) and ``mar run`` (per-model virtualenv) must
both install it, offline, from the model directory before ``initialize`` can import it.
"""

from __future__ import annotations

import importlib
from typing import Any


class DepsHandler:
    """Answers each request with the installed package's value and the request's body."""

    def __init__(self) -> None:
        self.value: str | None = None

    def initialize(self, context: Any) -> None:
        package = importlib.import_module("marcompat_tiny")
        self.value = f"{package.VALUE} (batch_size={context.system_properties['batch_size']})"

    def handle(self, data: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
        rows = []
        for row in data:
            body = row.get("body", row.get("data"))
            if isinstance(body, (bytes, bytearray)):
                body = body.decode("utf-8", "replace")
            rows.append({"package": self.value, "body": body})
        return rows
