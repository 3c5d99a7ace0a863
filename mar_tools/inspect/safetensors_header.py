"""The header of a safetensors file: tensor names, dtypes, shapes and byte ranges.

The format: an unsigned 64-bit little-endian length N, then N bytes of JSON mapping each
tensor name to ``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` (offsets
relative to the first byte after the header), and an optional ``__metadata__`` object.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import IO, Final

from mar_tools.inspect.tensors import TensorInfo, dtype_named

#: Largest header read (the format's reference implementation refuses more than 100 MB).
MAX_HEADER: Final = 100_000_000
#: safetensors dtype codes -> torch's names.
SAFETENSORS_DTYPES: Final = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U64": "uint64",
    "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
    "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "C64": "complex64",
}  # fmt: skip


class SafetensorsError(ValueError):
    """The bytes are not a safetensors file we can read."""


@dataclass(frozen=True)
class SafetensorsHeader:
    """The tensors of a safetensors file (``storage`` is each tensor's own name) and where
    their data starts: ``data_start`` + the tensor's ``begin`` (kept in :attr:`ranges`)."""

    tensors: tuple[TensorInfo, ...]
    ranges: dict[str, tuple[int, int]]
    data_start: int


def looks_like_safetensors(head: bytes) -> bool:
    """True when the first 9 bytes are a plausible header length and ``{``."""
    if len(head) < 9:
        return False
    (length,) = struct.unpack_from("<Q", head)
    return 2 <= length <= MAX_HEADER and head[8:9] == b"{"


def read_header(stream: IO[bytes]) -> SafetensorsHeader:
    """Parse the header at the start of *stream*; raise :class:`SafetensorsError`."""
    head = stream.read(8)
    if len(head) < 8:
        raise SafetensorsError("shorter than its header length field")
    (length,) = struct.unpack("<Q", head)
    if length > MAX_HEADER:
        raise SafetensorsError(f"declares a {length}-byte header")
    raw = stream.read(length)
    if len(raw) < length:
        raise SafetensorsError("ends inside its header")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SafetensorsError(f"its header is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SafetensorsError("its header is not a JSON object")
    tensors: list[TensorInfo] = []
    ranges: dict[str, tuple[int, int]] = {}
    for name, entry in data.items():
        if name == "__metadata__":
            continue
        tensor, span = _tensor(name, entry)
        tensors.append(tensor)
        ranges[name] = span
    tensors.sort(key=lambda tensor: ranges[tensor.name])
    return SafetensorsHeader(tuple(tensors), ranges, 8 + length)


def _tensor(name: str, entry: object) -> tuple[TensorInfo, tuple[int, int]]:
    if not isinstance(entry, dict):
        raise SafetensorsError(f"tensor {name!r} is not described by an object")
    code, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    dtype = dtype_named(SAFETENSORS_DTYPES.get(code, "")) if isinstance(code, str) else None
    if dtype is None:
        raise SafetensorsError(f"tensor {name!r} has an unknown dtype {code!r}")
    if not (isinstance(shape, list) and all(_count(size) for size in shape)):
        raise SafetensorsError(f"tensor {name!r} has a bad shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_count, offsets))):
        raise SafetensorsError(f"tensor {name!r} has bad data_offsets {offsets!r}")
    begin, end = offsets
    info = TensorInfo(name, dtype.name, tuple(shape), storage=name, storage_bytes=end - begin)
    if end < begin or end - begin != info.numel * dtype.itemsize:
        raise SafetensorsError(f"tensor {name!r}: data_offsets do not match its shape")
    return info, (begin, end)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
