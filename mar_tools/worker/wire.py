"""Framing of the messages between ``mar`` and its worker (both sides use this module).

A message is a JSON object followed by zero or more binary blobs::

    | u32 big-endian length of the JSON header | JSON header (UTF-8) | blob 0 | blob 1 | ...

The header's ``"blobs"`` list holds the byte length of each blob, so request bodies and
response bodies travel as raw bytes (no base64) and the header stays small. Standard
library only: this module runs inside the model's interpreter too.

:func:`frame` and :func:`parse_header` are the two halves every reader and writer shares
(the blocking streams here, ``mar serve``'s asyncio pipes): one JSON encoder and decoder
made once, since a server frames thousands of messages a second.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import IO, Any

_LENGTH = struct.Struct("!I")
#: Size of the length prefix.
PREFIX_SIZE = _LENGTH.size
#: Upper bound of a JSON header; a larger value means the stream is not speaking this protocol.
MAX_HEADER = 64 * 1024 * 1024
# Made once: building an encoder per call (json.dumps with separators) costs as much as
# encoding a batch's header.
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_DECODER = json.JSONDecoder()


class WireError(Exception):
    """The stream ended in the middle of a message or does not hold a valid message."""


def frame(header: dict[str, Any], blobs: Sequence[bytes | bytearray] = ()) -> list[bytes]:
    """The byte strings of one message (*header* plus *blobs*), in writing order.

    *header* is not modified; its ``"blobs"`` entry is written from *blobs*.
    """
    payload = dict(header)
    payload["blobs"] = [len(blob) for blob in blobs]
    text = _ENCODER.encode(payload).encode("utf-8")
    return [_LENGTH.pack(len(text)), text, *blobs]  # type: ignore[list-item]


def header_length(prefix: bytes | bytearray) -> int:
    """The header length a 4-byte *prefix* announces; :class:`WireError` past the bound."""
    (length,) = _LENGTH.unpack(prefix)
    if length > MAX_HEADER:
        raise WireError(f"message header of {length} bytes is too large")
    return int(length)


def parse_header(text: bytes | bytearray) -> tuple[dict[str, Any], list[int]]:
    """The JSON header *text* and its blob sizes (the ``"blobs"`` entry, removed).

    Raises :class:`WireError` when it is a JSON value but not an object with a valid
    ``blobs`` list, and ``ValueError`` (``JSONDecodeError``) when it is not JSON.
    """
    header = _DECODER.decode(text.decode("utf-8"))
    if not isinstance(header, dict):
        raise WireError("message header is not a JSON object")
    sizes = header.pop("blobs", [])
    if not isinstance(sizes, list) or not all(type(n) is int and n >= 0 for n in sizes):
        raise WireError("message header has an invalid 'blobs' list")
    return header, sizes


def write_message(
    stream: IO[bytes], header: dict[str, Any], blobs: Sequence[bytes | bytearray] = ()
) -> None:
    """Write one message (*header* plus *blobs*) to *stream* and flush it."""
    for part in frame(header, blobs):
        stream.write(part)
    stream.flush()


def read_message(stream: IO[bytes]) -> tuple[dict[str, Any], list[bytes]] | None:
    """Read one message from *stream*; return ``(header, blobs)``, or None at a clean EOF.

    Raises :class:`WireError` when the stream ends inside a message or the header is not a
    JSON object with a valid ``blobs`` list.
    """
    prefix = stream.read(PREFIX_SIZE)
    if not prefix:
        return None
    if len(prefix) != PREFIX_SIZE:
        raise WireError("stream ended inside a message length")
    header, sizes = parse_header(_read_exactly(stream, header_length(prefix)))
    return header, [_read_exactly(stream, size) for size in sizes]


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise WireError(f"stream ended after {len(data)} of {size} bytes")
    return data
