"""Response frames as TorchServe's backend sends them, read back into their fields.

The frames themselves are built by the ``ts`` package the handler runs with
(``ts.protocol.otf_message_handler.create_predict_response``, the real one or mar-tools'
compatible one), for the batch's answer as for every part a handler streams with
``send_intermediate_predict_response``. :func:`decode_frame` reads one frame back into a
:class:`Frame` (what :class:`~.messages.BatchResponse` carries to the parent); its layout,
all integers 4-byte big-endian signed::

    code | len message | message | per request: len id | id | len content type | content type
    | status | len phrase | phrase | header count | (len key | key | len value | value)*
    | len body | body ... | -1
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .fields import Blobs, Fields

_INT = struct.Struct("!i")


@dataclass(frozen=True)
class FrameEntry:
    """One request's part of a frame: what the handler set for it, and its body."""

    request_id: str
    status: int
    phrase: str
    content_type: str
    headers: Mapping[str, str]
    body: bytes

    def to_json(self) -> dict[str, Any]:
        """The entry's fields in a message header (the body travels as a blob)."""
        return {
            "id": self.request_id,
            "status": self.status,
            "phrase": self.phrase,
            "content_type": self.content_type,
            "headers": dict(self.headers),
        }

    @classmethod
    def from_json(cls, fields: Fields, bodies: Blobs) -> FrameEntry:
        """The entry :meth:`to_json` wrote, its body taken from *bodies*."""
        return cls(
            request_id=fields.text("id"),
            status=fields.integer("status"),
            phrase=fields.text("phrase"),
            content_type=fields.text("content_type"),
            headers=fields.text_map("headers"),
            body=bodies.take(),
        )


@dataclass(frozen=True)
class Frame:
    """One response frame: the batch's code and message, then one entry per request (a
    streamed part has entries only for the requests it continues)."""

    code: int
    message: str
    entries: tuple[FrameEntry, ...] = ()

    def blobs(self) -> list[bytes]:
        """The entries' bodies, as the blobs of a message."""
        return [entry.body for entry in self.entries]

    def to_json(self) -> dict[str, Any]:
        """The frame in a message header (the entries' bodies travel as :meth:`blobs`)."""
        entries = [entry.to_json() for entry in self.entries]
        return {"code": self.code, "message": self.message, "entries": entries}

    @classmethod
    def from_json(cls, fields: Fields, bodies: Blobs) -> Frame:
        """The frame :meth:`to_json` wrote, the bodies taken from *bodies* in entry order."""
        entries = tuple(FrameEntry.from_json(item, bodies) for item in fields.objects("entries"))
        return cls(fields.integer("code"), fields.text("message"), entries)


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


def decode_frame(frame: bytes | bytearray) -> Frame:
    """Read a TorchServe response frame (as ``create_predict_response`` builds it)."""
    reader = _Reader(frame)
    code, message = reader.integer(), reader.text()
    entries: list[FrameEntry] = []
    while True:
        id_length = reader.integer()
        if id_length == -1:
            return Frame(code, message, tuple(entries))
        reader.offset -= _INT.size
        request_id = reader.text()
        content_type = reader.text()
        status = reader.integer()
        phrase = reader.text()
        headers = {reader.text(): reader.text() for _ in range(reader.integer())}
        entries.append(FrameEntry(request_id, status, phrase, content_type, headers, reader.raw()))
