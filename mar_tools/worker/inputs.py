"""The batch a handler receives, built exactly as TorchServe's backend builds it.

For each request: ``data[i]`` is ``{parameter name: value}`` in parameter order (a repeated
name keeps its first position and its last value); the value is JSON-decoded for the
content type ``application/json``, UTF-8 decoded for ``text*``, else a ``bytearray``
(decoding is skipped when ``TS_DECODE_INPUT_REQUEST`` is set to anything but ``true``).
Request headers: ``{name: {"content-type": type}}`` per parameter, then the request's
headers (a header named like a parameter replaces that entry).

The parent builds the ``predict`` message of a batch with :func:`batch_message`; the worker
reads it back with :func:`requests_from_message` (standard library only, like
:mod:`~mar_tools.worker.wire`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Parameter:
    """One request parameter: a form field, or ``body`` for a raw request body."""

    name: str
    content_type: str
    value: bytes


@dataclass(frozen=True)
class Request:
    """One request of a batch: its id, headers (in wire order) and parameters."""

    request_id: str
    headers: tuple[tuple[str, str], ...]
    parameters: tuple[Parameter, ...]


def batch_message(number: int, batch: Sequence[Request]) -> tuple[dict[str, Any], list[bytes]]:
    """The ``predict`` message of batch *number*: ids, headers and parameter names and types
    in the header, the parameter values as blobs."""
    blobs = [parameter.value for request in batch for parameter in request.parameters]
    header = {
        "type": "predict",
        "batch": number,
        "requests": [
            {
                "id": request.request_id,
                "headers": [list(pair) for pair in request.headers],
                "parameters": [[p.name, p.content_type] for p in request.parameters],
            }
            for request in batch
        ],
    }
    return header, blobs


def requests_from_message(header: dict[str, Any], blobs: Sequence[bytes]) -> list[Request]:
    """The requests of a ``predict`` message (see :func:`batch_message`)."""
    values: Iterator[bytes] = iter(blobs)
    return [
        Request(
            request_id=item["id"],
            headers=tuple((str(k), str(v)) for k, v in item["headers"]),
            parameters=tuple(
                Parameter(name, ctype, next(values)) for name, ctype in item["parameters"]
            ),
        )
        for item in header["requests"]
    ]


def decode_value(parameter: Parameter) -> Any:
    """The value a handler sees for *parameter* (see the module docstring)."""
    decode = os.environ.get("TS_DECODE_INPUT_REQUEST")
    enabled = decode is None or decode == "true"
    raw = bytearray(parameter.value)
    if enabled and parameter.content_type == "application/json":
        try:
            return json.loads(raw.decode("utf-8"))
        except Exception:
            logging.warning(
                "Failed json decoding of input data. Forwarding encoded payload", exc_info=True
            )
            return raw
    if enabled and parameter.content_type.startswith("text"):
        try:
            return raw.decode("utf-8")
        except Exception:
            logging.warning(
                "Failed utf-8 decoding of input data. Forwarding encoded payload", exc_info=True
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
