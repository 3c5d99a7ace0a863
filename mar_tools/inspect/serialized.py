"""What a serialized file is, and which tensors it holds, read without unpickling anything.

:func:`describe` tells a file by its first bytes: a torch zip (``torch.save`` or
``torch.jit.save``; TorchScript has a ``constants.pkl`` record), torch's legacy format (a
run of pickles, the first one torch's magic number), a plain pickle, a safetensors file,
or something else (ONNX, TensorRT, raw bytes). Tensors come from the pickle's inert value
tree (:mod:`mar_tools.inspect.torch_pickle`) or the safetensors header; their data is
never read here (see :mod:`mar_tools.inspect.weights_file`).
"""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass
from typing import IO, Final, Literal

from mar_tools.core.archive import READ_ERRORS
from mar_tools.core.archive.zip_records import LOCAL_HEADER
from mar_tools.core.pickle.tree import Limits, Malformed, load_tree, open_reader
from mar_tools.inspect.safetensors_header import (
    SafetensorsError,
    SafetensorsHeader,
    looks_like_safetensors,
    read_header,
)
from mar_tools.inspect.tensors import TensorInfo
from mar_tools.inspect.torch_pickle import PickleContents, read_contents

SerializedKind = Literal["torchscript", "state_dict", "pickled_module", "safetensors", "other"]
Container = Literal["torch-zip", "torch-legacy", "pickle", "safetensors", "zip", "unknown"]

ZIP_HEAD: Final = b"PK\x03\x04"
#: The first pickle of torch's legacy (non-zip) format unpickles to this number.
LEGACY_MAGIC: Final = 0x1950A86A20F9469CFC6C
#: How many pickles torch's legacy format starts with (magic, protocol, system info, the
#: object, the storage keys).
LEGACY_PICKLES: Final = 5
TORCHSCRIPT_PREFIX: Final = "__torch__."
PICKLE_LIMITS: Final = Limits()


@dataclass(frozen=True)
class SerializedInfo:
    """What a serialized file is. ``tensors`` is None when they could not be listed, and
    ``note`` then says why (a damaged pickle, a format without tensor metadata...).

    ``layout`` is what :class:`~mar_tools.inspect.weights_file.WeightsFile` needs to find
    the tensors' bytes: the torch zip's record prefix, the legacy format's storage keys and
    the offset after its pickles, or the safetensors header.
    """

    kind: SerializedKind
    container: Container
    tensors: tuple[TensorInfo, ...] | None
    classes: tuple[str, ...] = ()
    note: str | None = None
    layout: object = None


@dataclass(frozen=True)
class TorchZipLayout:
    """Where a torch zip keeps its storages: ``<prefix>data/<key>``."""

    prefix: str


@dataclass(frozen=True)
class LegacyLayout:
    """torch's legacy format: the storage keys in file order, after ``data_start``."""

    keys: tuple[str, ...]
    data_start: int


def describe(handle: IO[bytes]) -> SerializedInfo:
    """Describe the serialized file open (seekable) in *handle*."""
    handle.seek(0)
    head = handle.read(16)
    handle.seek(0)
    if head.startswith(ZIP_HEAD):
        return _describe_zip(handle)
    return _describe_flat(head, handle)


def describe_stream(stream: IO[bytes]) -> SerializedInfo | None:
    """Describe a serialized file from a forward-only *stream*, reading only its start, or
    None when that cannot be done (a zip whose first record is not ``data.pkl``: TorchScript
    writes its storages first, so its index at the end is needed)."""
    head = _peek(stream, 16)
    if head.startswith(ZIP_HEAD):
        return _first_record(stream)
    return _describe_flat(head, stream)


def _describe_flat(head: bytes, stream: IO[bytes]) -> SerializedInfo:
    """A file that is not a zip, from its first bytes *head* and *stream* at its start."""
    if looks_like_safetensors(head):
        try:
            header = read_header(stream)
        except SafetensorsError as exc:
            return SerializedInfo("other", "unknown", None, note=f"not safetensors: {exc}")
        return SerializedInfo("safetensors", "safetensors", header.tensors, layout=header)
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return _describe_pickles(stream)
    return SerializedInfo("other", "unknown", None, note="not a torch, pickle or safetensors file")


def _peek(stream: IO[bytes], count: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is None:
        raise TypeError("describe_stream needs a buffered stream (with peek)")
    head: bytes = peek(count)[:count]
    return head


def _first_record(stream: IO[bytes]) -> SerializedInfo | None:
    """torch.save writes ``<prefix>/data.pkl`` first, STORED: read it right after its local
    header (its size is deferred to a data descriptor, but a pickle ends by itself)."""
    fixed = stream.read(LOCAL_HEADER.size)
    if len(fixed) < LOCAL_HEADER.size:
        return None
    fields = LOCAL_HEADER.unpack(fixed)
    method, name_length, extra_length = fields[3], fields[9], fields[10]
    name = stream.read(name_length).decode("utf-8", "replace")
    stream.read(extra_length)
    if method != 0 or name.count("/") != 1 or not name.endswith("/data.pkl"):
        return None
    try:
        contents = read_contents(load_tree(open_reader(stream, PICKLE_LIMITS)))
    except Malformed as exc:
        return _unreadable(False, "torch-zip", f"data.pkl cannot be read ({exc})")
    kind = "torchscript" if _scripted(contents) else contents.kind
    layout = TorchZipLayout(posixpath.dirname(name) + "/")
    return SerializedInfo(kind, "torch-zip", contents.tensors, contents.classes, layout=layout)


def _describe_zip(handle: IO[bytes]) -> SerializedInfo:
    try:
        names = zipfile.ZipFile(handle).namelist()
    except READ_ERRORS as exc:
        return SerializedInfo("other", "zip", None, note=f"an unreadable zip ({exc})")
    records = [name for name in names if name.count("/") == 1 and name.endswith("/data.pkl")]
    if not records:
        return SerializedInfo("other", "zip", None, note="a zip without a torch data.pkl")
    prefix = posixpath.dirname(records[0]) + "/"
    torchscript = f"{prefix}constants.pkl" in names
    try:
        with zipfile.ZipFile(handle) as archive, archive.open(records[0]) as stream:
            contents = read_contents(load_tree(open_reader(stream, PICKLE_LIMITS)))
    except Malformed as exc:
        return _unreadable(torchscript, "torch-zip", f"data.pkl cannot be read ({exc})")
    except READ_ERRORS as exc:
        return _unreadable(torchscript, "torch-zip", f"data.pkl cannot be read ({exc})")
    kind = "torchscript" if torchscript or _scripted(contents) else contents.kind
    return SerializedInfo(
        kind, "torch-zip", contents.tensors, contents.classes, layout=TorchZipLayout(prefix)
    )


def _describe_pickles(handle: IO[bytes]) -> SerializedInfo:
    reader = open_reader(handle, PICKLE_LIMITS)
    try:
        first = load_tree(reader)
        if first != LEGACY_MAGIC:
            contents = read_contents(first)
            return SerializedInfo(contents.kind, "pickle", contents.tensors, contents.classes)
        values = [first] + [load_tree(reader) for _ in range(LEGACY_PICKLES - 1)]
    except Malformed as exc:
        return SerializedInfo("other", "pickle", None, note=f"a pickle that cannot be read ({exc})")
    contents = read_contents(values[3])
    keys = values[4]
    layout = None
    if isinstance(keys, list) and all(isinstance(key, str) for key in keys):
        layout = LegacyLayout(tuple(str(key) for key in keys), reader.offset)
    return SerializedInfo(
        contents.kind, "torch-legacy", contents.tensors, contents.classes, layout=layout
    )


def _unreadable(torchscript: bool, container: Container, note: str) -> SerializedInfo:
    return SerializedInfo("torchscript" if torchscript else "other", container, None, note=note)


def _scripted(contents: PickleContents) -> bool:
    return any(name.startswith(TORCHSCRIPT_PREFIX) for name in contents.classes)


def safetensors_layout(info: SerializedInfo) -> SafetensorsHeader | None:
    """The safetensors header of *info*, when it is one."""
    return info.layout if isinstance(info.layout, SafetensorsHeader) else None
