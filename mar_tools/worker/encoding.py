"""Responses as TorchServe's backend encodes them (``create_predict_response``).

A successful batch gives, per request, the status and reason phrase the handler set
(default 200), the response headers it set (``content-type`` among them) and the body:
bytes/bytearray as they are, ``str`` as UTF-8, a ``torch.Tensor`` as ``torch.save`` bytes,
anything else as ``json.dumps(value, indent=2)``; a value that JSON cannot encode turns the
whole batch into a 503 "Unsupported model output data type.". A failed batch gives every
request the batch's code, no content type and the body ``error`` (the frontend then answers
with its JSON error body; see ``mar_tools.run.response``).

Streamed responses (``send_intermediate_predict_response``) reach the worker as TorchServe's
binary frames; :func:`decode_frame` reads them back.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import sys
from dataclasses import dataclass, field
from typing import Any

_INT = struct.Struct("!i")
STREAM_HEADER = "ts_stream_next"


@dataclass
class RequestResponse:
    """One request's answer (one frame of it, for streamed responses)."""

    request_id: str
    status: int
    phrase: str
    content_type: str
    headers: dict[str, str]
    body: bytes


@dataclass
class BatchResponse:
    """A whole batch's answer: the batch code and message, then one entry per request."""

    code: int
    message: str
    responses: list[RequestResponse] = field(default_factory=list)


def encode_body(value: Any) -> bytes | None:
    """The body bytes of one handler result; None when it cannot be serialized."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    torch = sys.modules.get("torch")  # a tensor can only exist if torch was imported
    if torch is not None and isinstance(value, torch.Tensor):
        buffer = io.BytesIO()
        torch.save(value, buffer)
        return buffer.getvalue()
    try:
        return json.dumps(value, indent=2).encode("utf-8")
    except TypeError:
        logging.warning("Unable to serialize model output.", exc_info=True)
        return None


def error_batch(request_ids: dict[int, str], message: str, code: int) -> BatchResponse:
    """The answer of a failed batch: every request gets *code* and the body ``error``."""
    return BatchResponse(
        code=code,
        message=message,
        responses=[
            RequestResponse(request_ids[idx], code, "", "", {}, b"error") for idx in request_ids
        ],
    )


def encode_batch(
    results: list[Any],
    request_ids: dict[int, str],
    context: Any,
    *,
    message: str = "Prediction success",
    code: int = 200,
    stream_next: bool = False,
) -> BatchResponse:
    """Encode a handler's *results* for the batch *request_ids* (see the module docstring)."""
    batch = BatchResponse(code=code, message=message)
    for idx in request_ids:
        if stream_next:
            context.set_response_header(idx, STREAM_HEADER, "true")
        elif context.stopping_criteria:
            is_stop = context.stopping_criteria[idx](results[idx])
            if is_stop is not None:
                context.set_response_header(idx, STREAM_HEADER, "false" if is_stop else "true")
        elif context.get_response_headers(idx).get(STREAM_HEADER) == "true":
            context.set_response_header(idx, STREAM_HEADER, "false")
        status, phrase = context.get_response_status(idx)
        body = encode_body(results[idx])
        if body is None:
            return error_batch(request_ids, "Unsupported model output data type.", 503)
        batch.responses.append(
            RequestResponse(
                request_id=request_ids[idx],
                status=200 if status is None else int(status),
                phrase="" if phrase is None else str(phrase),
                content_type=context.get_response_content_type(idx) or "",
                headers={str(k): str(v) for k, v in context.get_response_headers(idx).items()},
                body=body,
            )
        )
    return batch


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def integer(self) -> int:
        (value,) = _INT.unpack_from(self.data, self.offset)
        self.offset += _INT.size
        return int(value)

    def raw(self) -> bytes:
        size = self.integer()
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def text(self) -> str:
        return self.raw().decode("utf-8")


def decode_frame(frame: bytes) -> BatchResponse:
    """Read a TorchServe response frame (as ``create_predict_response`` builds it)."""
    reader = _Reader(bytes(frame))
    batch = BatchResponse(code=reader.integer(), message=reader.text())
    while True:
        id_length = reader.integer()
        if id_length == -1:
            return batch
        reader.offset -= _INT.size
        request_id = reader.text()
        content_type = reader.text()
        status = reader.integer()
        phrase = reader.text()
        headers = {reader.text(): reader.text() for _ in range(reader.integer())}
        batch.responses.append(
            RequestResponse(request_id, status, phrase, content_type, headers, reader.raw())
        )
