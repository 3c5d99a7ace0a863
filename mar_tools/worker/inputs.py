"""The batch a handler receives, built exactly as TorchServe's backend builds it.

For each request: ``data[i]`` is ``{parameter name: value}`` in parameter order (a repeated
name keeps its first position and its last value); the value is JSON-decoded for the
content type ``application/json``, UTF-8 decoded for ``text*``, else a ``bytearray``
(decoding is skipped when ``TS_DECODE_INPUT_REQUEST`` is set to anything but ``true``).
A value that does not decode is forwarded as its ``bytearray``, as TorchServe forwards it,
with TorchServe's one-line warning and the reason (no traceback: the payload, not the
code, is at fault).
Request headers: ``{name: {"content-type": type}}`` per parameter, then the request's
headers (a header named like a parameter replaces that entry).

The parent sends the requests of a batch in a :class:`~.messages.Predict` message (standard
library only, like the rest of the worker package).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .fields import Blobs, Fields


@dataclass(frozen=True)
class Parameter:
    """One request parameter: a form field, or ``body`` for a raw request body."""

    name: str
    content_type: str
    value: bytes


@dataclass(frozen=True)
class Request:
    """One request of a batch: its id (unique among the requests a worker is sent), its
    headers in wire order and its parameters."""

    request_id: str
    headers: tuple[tuple[str, str], ...]
    parameters: tuple[Parameter, ...]

    def blobs(self) -> list[bytes]:
        """The parameter values, as the blobs of a message."""
        return [parameter.value for parameter in self.parameters]

    def to_json(self) -> dict[str, Any]:
        """The request in a message header (the parameter values travel as :meth:`blobs`)."""
        return {
            "id": self.request_id,
            "headers": [list(pair) for pair in self.headers],
            "parameters": [[p.name, p.content_type] for p in self.parameters],
        }

    @classmethod
    def from_json(cls, fields: Fields, values: Blobs) -> Request:
        """The request :meth:`to_json` wrote, its values taken from *values* in order."""
        return cls(
            request_id=fields.text("id"),
            headers=fields.text_pairs("headers"),
            parameters=tuple(
                Parameter(name, content_type, values.take())
                for name, content_type in fields.text_pairs("parameters")
            ),
        )


def decode_value(parameter: Parameter) -> Any:
    """The value a handler sees for *parameter* (see the module docstring)."""
    decode = os.environ.get("TS_DECODE_INPUT_REQUEST")
    enabled = decode is None or decode == "true"
    raw = bytearray(parameter.value)
    if enabled and parameter.content_type == "application/json":
        try:
            return json.loads(raw.decode("utf-8"))
        except Exception as exc:  # JSONDecodeError, UnicodeDecodeError, RecursionError
            logging.warning(
                "Failed json decoding of input data. Forwarding encoded payload (%s)", exc
            )
            return raw
    if enabled and parameter.content_type.startswith("text"):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            logging.warning(
                "Failed utf-8 decoding of input data. Forwarding encoded payload (%s)", exc
            )
            return raw
    return raw


def build_batch(
    requests: Sequence[Request], processor_factory: Callable[[dict[str, Any]], Any]
) -> tuple[list[Any], list[dict[str, Any]], dict[int, str]]:
    """``(request processors, data, {index: request id})`` for ``handle(data, context)``."""
    processors = []
    batch = []
    ids: dict[int, str] = {}
    for index, request in enumerate(requests):
        values: dict[str, Any] = {}
        headers: dict[str, Any] = {}
        for parameter in request.parameters:
            values[parameter.name] = decode_value(parameter)
            headers[parameter.name] = {"content-type": parameter.content_type}
        for name, value in request.headers:
            headers[name] = value
        processors.append(processor_factory(headers))
        batch.append(values)
        ids[index] = request.request_id
    return processors, batch, ids
