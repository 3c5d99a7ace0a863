"""Response frames as TorchServe's backend sends them, read back into their fields.

The frames themselves are built by the ``ts`` package the handler runs with
(``ts.protocol.otf_message_handler.create_predict_response``, the real one or mar-tools'
compatible one), for the batch's answer as for every part a handler streams with
``send_intermediate_predict_response``. :func:`decode_frame` reads one frame back; its layout,
all integers 4-byte big-endian signed::

    code | len message | message | per request: len id | id | len content type | content type
    | status | len phrase | phrase | header count | (len key | key | len value | value)*
    | len body | body ... | -1
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

_INT = struct.Struct("!i")


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


class _Reader:
    def __init__(self, data: bytes | bytearray) -> None:
        self.data = memoryview(data)  # no copy of a large frame
        self.offset = 0

    def integer(self) -> int:
        (value,) = _INT.unpack_from(self.data, self.offset)
        self.offset += _INT.size
        return int(value)

    def raw(self) -> bytes:
        size = self.integer()
        chunk = bytes(self.data[self.offset : self.offset + size])
        self.offset += size
        return chunk

    def text(self) -> str:
        return self.raw().decode("utf-8")


def decode_frame(frame: bytes | bytearray) -> BatchResponse:
    """Read a TorchServe response frame (as ``create_predict_response`` builds it)."""
    reader = _Reader(frame)
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
