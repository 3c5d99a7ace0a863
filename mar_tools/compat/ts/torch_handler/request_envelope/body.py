"""``ts.torch_handler.request_envelope.body``: hand the handler each request's raw body."""

from __future__ import annotations

from typing import Any

from .base import BaseEnvelope


class BodyEnvelope(BaseEnvelope):
    """Rows become their ``data`` (or ``body``) value; results pass through unchanged."""

    def parse_input(self, data: Any) -> Any:
        return [row.get("data") or row.get("body") for row in data]

    def format_output(self, data: Any) -> Any:
        return data
