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


def create_predict_response(
    ret: Any,
    req_id_map: dict[int, str],
    message: str,
    code: int,
    context: Any = None,
    ts_stream_next: bool = False,
) -> bytearray | None:
    """Build the response frame of a batch (None on a non-zero ``LOCAL_RANK``)."""
    if str(os.getenv("LOCAL_RANK", 0)) != "0":
        return None
    out = bytearray(_INT.pack(code))
    raw = message.encode("utf-8")
    out += _INT.pack(len(raw)) + raw
    for idx in req_id_map:
        req_id = req_id_map[idx].encode("utf-8")
        out += _INT.pack(len(req_id)) + req_id
        if context is None:
            out += _INT.pack(0) + _INT.pack(code) + _INT.pack(0) + _INT.pack(0)
        else:
            if ts_stream_next is True:
                context.set_response_header(idx, "ts_stream_next", "true")
            elif context.stopping_criteria:
                is_stop = context.stopping_criteria[idx](ret[idx])
                if is_stop is not None:
                    context.set_response_header(
                        idx, "ts_stream_next", "false" if is_stop else "true"
                    )
            elif context.get_response_headers(idx).get("ts_stream_next") == "true":
                context.set_response_header(idx, "ts_stream_next", "false")
            content_type = context.get_response_content_type(idx) or ""
            raw_type = content_type.encode("utf-8")
            out += _INT.pack(len(raw_type)) + raw_type
            status, phrase = context.get_response_status(idx)
            raw_phrase = (phrase if phrase is not None else "").encode("utf-8")
            out += _INT.pack(status if status is not None else 200)
            out += _INT.pack(len(raw_phrase)) + raw_phrase
            out += encode_response_headers(context.get_response_headers(idx))
        body = b"error" if ret is None else _encode_body(ret[idx])
        if body is None:
            return create_predict_response(
                None, req_id_map, "Unsupported model output data type.", 503
            )
        out += _INT.pack(len(body))
        out += body  # appended on its own: a large body is copied once
    out += _INT.pack(-1)
    return out


@deprecated(version=1.0, replacement="ts.handler_utils.utils.send_intermediate_predict_response")
def send_intermediate_predict_response(
    ret: Any, req_id_map: dict[int, str], message: str, code: int, context: Any = None
) -> None:
    """Send one intermediate (streamed) response of the batch through ``context.cl_socket``."""
    if str(os.getenv("LOCAL_RANK", 0)) != "0":
        return
    frame = create_predict_response(ret, req_id_map, message, code, context, True)
    context.cl_socket.sendall(frame)
