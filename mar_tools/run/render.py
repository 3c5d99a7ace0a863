"""What ``mar run`` writes to stdout (or ``--output``) for each ``--format``.

``body``: one response -> exactly its body bytes; several -> a JSON array (2-space indent,
trailing newline) with one element per input: the body's JSON value when it is JSON, else
its text when it is UTF-8, else ``{"content_type": ..., "base64": ...}``.

``json``: one object with the model, the device, the timings, every response (status,
reason phrase, content type, headers, body as UTF-8 text or base64, and the request the
handler received: its headers in wire order and its parameters' names, content types and
sizes) and the metric lines.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from mar_tools.run.response import Response
from mar_tools.run.runner import RunResult


def body_value(response: Response) -> Any:
    """A response body as a JSON value (see the module docstring)."""
    try:
        text = response.body.decode("utf-8")
    except UnicodeDecodeError:
        return {
            "content_type": response.content_type,
            "base64": base64.b64encode(response.body).decode("ascii"),
        }
    try:
        return json.loads(text)
    except ValueError:
        return text


def render_bodies(responses: Sequence[Response]) -> bytes:
    """The ``--format body`` output."""
    if len(responses) == 1:
        return responses[0].body
    if not responses:
        return b""
    values = [body_value(response) for response in responses]
    return (json.dumps(values, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _encoded_body(body: bytes) -> tuple[str, str]:
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def _milliseconds(value: float) -> float:
    return round(value, 3)


def render_json(result: RunResult, archive: str) -> bytes:
    """The ``--format json`` output."""
    requests = {request.request_id: request for request in result.requests}
    responses = []
    for response in result.responses:
        body, encoding = _encoded_body(response.body)
        request = requests[response.request_id]
        responses.append(
            {
                "input": response.label,
                "request_id": response.request_id,
                "batch": response.batch,
                "status": response.status,
                "phrase": response.phrase,
                "content_type": response.content_type,
                "headers": dict(response.headers),
                "body": body,
                "body_encoding": encoding,
                "chunks": response.chunks,
                "request": {
                    "headers": [list(pair) for pair in request.headers],
                    "parameters": [
                        {"name": p.name, "content_type": p.content_type, "size": len(p.value)}
                        for p in request.parameters
                    ],
                },
            }
        )
    timings: dict[str, Any] = {
        "startup_ms": _milliseconds(result.startup_ms),
        "load_ms": _milliseconds(result.load_ms),
        "batches": result.latency.count if result.latency else 0,
    }
    if result.latency is not None:
        summary = result.latency
        timings["batch_ms"] = {
            "p50": _milliseconds(summary.p50),
            "p90": _milliseconds(summary.p90),
            "p99": _milliseconds(summary.p99),
            "min": _milliseconds(summary.minimum),
            "max": _milliseconds(summary.maximum),
        }
    document = {
        "model": {
            "archive": archive,
            "name": result.model_name,
            "handler": result.model.handler,
            "entry_point": result.entry_point,
            "model_dir": str(result.model_dir),
            "extraction": result.extraction,
            "interpreter": str(result.interpreter.python),
            "ts_package": result.ts_package,
        },
        "device": {"kind": result.device.kind, "gpu_id": result.device.gpu_id},
        "batch_size": result.batch_size,
        "timings": timings,
        "responses": responses,
        "metrics": list(result.metrics),
        "warnings": list(result.warnings),
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
