"""Hand assembly of pickle opcodes, and the containers torch.load reads them from.

Used to build the malicious corpus byte by byte (nothing here is ever unpickled in the
test process) and a few legitimate files in formats torch no longer writes.
"""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
import zipfile

PROTO2 = b"\x80\x02"
PROTO4 = b"\x80\x04"
MARK = b"("
TUPLE = b"t"
REDUCE = b"R"
BUILD = b"b"
NEWOBJ = b"\x81"
STOP = b"."
EMPTY_DICT = b"}"
EMPTY_TUPLE = b")"
NONE = b"N"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def text_global(module: str, name: str) -> bytes:
    """``GLOBAL`` (protocol 0 text form)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def uni(value: str) -> bytes:
    """``BINUNICODE``."""
    data = value.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(data)) + data


def short(value: str) -> bytes:
    """``SHORT_BINUNICODE`` (protocol 4)."""
    data = value.encode()
    return b"\x8c" + bytes([len(data)]) + data


def binbytes(value: bytes) -> bytes:
    """``BINBYTES`` (protocol 3)."""
    return b"B" + struct.pack("<I", len(value)) + value


def stack_global(module: str, name: str) -> bytes:
    """``STACK_GLOBAL`` of two literal strings (protocol 4)."""
    return short(module) + short(name) + STACK_GLOBAL


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def call(callee: bytes, *args: bytes) -> bytes:
    """*callee* (the bytes pushing it) called with *args* by ``REDUCE``."""
    return callee + tup(*args) + REDUCE


def put(index: int) -> bytes:
    return b"q" + bytes([index])


def get(index: int) -> bytes:
    return b"h" + bytes([index])


def p2(body: bytes) -> bytes:
    """A protocol-2 pickle of *body*."""
    return PROTO2 + body + STOP


def p4(body: bytes) -> bytes:
    """A protocol-4 pickle of *body* (no frames)."""
    return PROTO4 + body + STOP


def torch_zip(
    data_pkl: bytes, *, name: str = "archive/data.pkl", extra: dict[str, bytes] | None = None
) -> bytes:
    """A zip laid out like torch.save's, with *data_pkl* as its pickle (and *extra* entries)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data_pkl)
        archive.writestr("archive/byteorder", "little")
        for entry, data in (extra or {}).items():
            archive.writestr(entry, data)
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def legacy(obj_pickle: bytes, *, sys_info: bytes | None = None, keys: bytes | None = None) -> bytes:
    """torch's legacy (non-zip) format: magic, protocol, system info, object, storage keys."""
    return (
        pickle.dumps(TORCH_LEGACY_MAGIC, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + (sys_info or pickle.dumps({"protocol_version": 1001}, protocol=2))
        + obj_pickle
        + (keys or pickle.dumps([], protocol=2))
    )


def legacy_tar(*, obj: bytes, storages: bytes | None = None, tensors: bytes | None = None) -> bytes:
    """torch's legacy tar format with the given member contents (empty storages/tensors by
    default)."""
    members = {
        "storages": storages or pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2),
        "tensors": tensors or pickle.dumps(0, protocol=2),
        "pickle": obj,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
