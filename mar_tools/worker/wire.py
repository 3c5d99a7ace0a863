"""Framing of the messages between ``mar run`` and its worker (both sides use this module).

A message is a JSON object followed by zero or more binary blobs::

    | u32 big-endian length of the JSON header | JSON header (UTF-8) | blob 0 | blob 1 | ...

The header's ``"blobs"`` list holds the byte length of each blob, so request bodies and
response bodies travel as raw bytes (no base64) and the header stays small. Standard
library only: this module runs inside the model's interpreter too.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import IO, Any

_LENGTH = struct.Struct("!I")
#: Upper bound of a JSON header; a larger value means the stream is not speaking this protocol.
MAX_HEADER = 64 * 1024 * 1024


class WireError(Exception):
    """The stream ended in the middle of a message or does not hold a valid message."""


def write_message(
    stream: IO[bytes], header: dict[str, Any], blobs: Sequence[bytes | bytearray] = ()
) -> None:
    """Write one message (*header* plus *blobs*) to *stream* and flush it."""
    payload = dict(header)
    payload["blobs"] = [len(blob) for blob in blobs]
    text = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    stream.write(_LENGTH.pack(len(text)))
    stream.write(text)
    for blob in blobs:
        stream.write(blob)
    stream.flush()


def read_message(stream: IO[bytes]) -> tuple[dict[str, Any], list[bytes]] | None:
    """Read one message from *stream*; return ``(header, blobs)``, or None at a clean EOF.

    Raises :class:`WireError` when the stream ends inside a message or the header is not a
    JSON object with a valid ``blobs`` list.
    """
    prefix = stream.read(_LENGTH.size)
    if not prefix:
        return None
    if len(prefix) != _LENGTH.size:
        raise WireError("stream ended inside a message length")
    (length,) = _LENGTH.unpack(prefix)
    if length > MAX_HEADER:
        raise WireError(f"message header of {length} bytes is too large")
    header = json.loads(_read_exactly(stream, length).decode("utf-8"))
    if not isinstance(header, dict):
        raise WireError("message header is not a JSON object")
    sizes = header.pop("blobs", [])
    if not isinstance(sizes, list) or not all(isinstance(n, int) and n >= 0 for n in sizes):
        raise WireError("message header has an invalid 'blobs' list")
    return header, [_read_exactly(stream, size) for size in sizes]


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise WireError(f"stream ended after {len(data)} of {size} bytes")
    return data
