"""``ts.protocol.otf_message_handler``: TorchServe's binary response frame.

Handlers that stream (``send_intermediate_predict_response``) build frames with
:func:`create_predict_response` and write them to ``context.cl_socket``; ``mar run``'s worker
gives them a socket-like object that decodes the frames. The frame layout, all integers
4-byte big-endian signed::

    code | len message | message | per request: len id | id | len content type | content type
    | status | len phrase | phrase | header count | (len key | key | len value | value)*
    | len body | body ... | -1
"""

from __future__ import annotations

import io
import json
import logging
import os
import struct
import sys
from typing import Any

from ..utils.util import deprecated

_INT = struct.Struct("!i")


def encode_response_headers(resp_hdr_map: dict[str, str]) -> bytearray:
    """Encode a header map as ``count | (len key | key | len value | value)*``."""
    out = bytearray(_INT.pack(len(resp_hdr_map)))
    for key, value in resp_hdr_map.items():
        for text in (key, value):
            raw = text.encode("utf-8")
            out += _INT.pack(len(raw)) + raw
    return out


def _encode_body(value: Any) -> bytes | bytearray | None:
    """Bytes of one response body, or None when it cannot be serialized."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    torch = sys.modules.get("torch")  # a tensor exists only if torch was imported
    if torch is not None and isinstance(value, torch.Tensor):
        buffer = io.BytesIO()
        torch.save(value, buffer)
        return buffer.getvalue()
    try:
        return json.dumps(value, indent=2).encode("utf-8")
    except TypeError:
        logging.warning("Unable to serialize model output.", exc_info=True)
        return None


def _text(value: str | None) -> bytes:
    """A length-prefixed UTF-8 string; None is the empty string."""
    raw = (value or "").encode("utf-8")
    return _INT.pack(len(raw)) + raw


def _mark_stream(context: Any, idx: int, ret: Any, intermediate: bool) -> None:
    """Set request *idx*'s ``ts_stream_next`` header: "true" on an intermediate frame;
    else as the request's stopping criterion says; else a stream in progress ends."""
    if intermediate:
        context.set_response_header(idx, "ts_stream_next", "true")
        return
    if context.stopping_criteria:
        stop = context.stopping_criteria[idx](ret[idx])
        if stop is not None:
            context.set_response_header(idx, "ts_stream_next", "false" if stop else "true")
        return
    if context.get_response_headers(idx).get("ts_stream_next") == "true":
        context.set_response_header(idx, "ts_stream_next", "false")


def _response_head(context: Any, idx: int, code: int) -> bytes:
    """Content type, status, phrase and headers of request *idx*; without a context (an
    error frame): no content type, the frame's *code*, no phrase, no headers."""
    if context is None:
        return _INT.pack(0) + _INT.pack(code) + _INT.pack(0) + _INT.pack(0)
    content_type = _text(context.get_response_content_type(idx))
    status, phrase = context.get_response_status(idx)
    headers = encode_response_headers(context.get_response_headers(idx))
    return content_type + _INT.pack(200 if status is None else status) + _text(phrase) + headers


def create_predict_response(
    ret: Any,
    req_id_map: dict[int, str],
    message: str,
    code: int,
    context: Any = None,
    ts_stream_next: bool = False,
) -> bytearray | None:
    """Build the response frame of a batch (None on a non-zero ``LOCAL_RANK``).

    A body that cannot be serialized turns the whole frame into a 503 error frame.
    """
    if str(os.getenv("LOCAL_RANK", 0)) != "0":
        return None
    frame = bytearray(_INT.pack(code))
    frame += _text(message)
    for idx, request_id in req_id_map.items():
        frame += _text(request_id)
        if context is not None:
            _mark_stream(context, idx, ret, ts_stream_next is True)
        frame += _response_head(context, idx, code)
        body = b"error" if ret is None else _encode_body(ret[idx])
        if body is None:
            return create_predict_response(
                None, req_id_map, "Unsupported model output data type.", 503
            )
        frame += _INT.pack(len(body))
        frame += body  # appended on its own: a large body is copied once
    frame += _INT.pack(-1)
    return frame


@deprecated(version=1.0, replacement="ts.handler_utils.utils.send_intermediate_predict_response")
def send_intermediate_predict_response(
    ret: Any, req_id_map: dict[int, str], message: str, code: int, context: Any = None
) -> None:
    """Send one intermediate (streamed) response of the batch through ``context.cl_socket``."""
    if str(os.getenv("LOCAL_RANK", 0)) != "0":
        return
    frame = create_predict_response(ret, req_id_map, message, code, context, True)
    context.cl_socket.sendall(frame)
