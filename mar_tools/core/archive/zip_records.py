"""Low-level zip records: local file headers.

Python's zipfile trusts the central directory; TorchServe's Java frontend reads local
headers one after the other. Validation needs both views, so local headers are parsed
here, independently of zipfile.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
LOCAL_SIGNATURE = b"PK\x03\x04"
ZIP64_EXTRA_ID = 0x0001


@dataclass(frozen=True)
class LocalHeader:
    """A zip local file header, as a streaming reader (TorchServe's Java one) sees it.

    ``crc``/``compressed_size``/``size`` are None when the header defers them to a data
    descriptor (flag bit 3). ``data_offset`` is where the entry's (compressed) bytes start.
    """

    offset: int
    flag_bits: int
    method: int
    crc: int | None
    compressed_size: int | None
    size: int | None
    name_bytes: bytes
    data_offset: int
    zip64: bool


def read_local_header(handle: IO[bytes], offset: int) -> LocalHeader | None:
    """Parse the local header at *offset* of *handle*; None if there is none there."""
    if offset < 0:
        return None
    try:
        handle.seek(offset)
        fixed = handle.read(LOCAL_HEADER.size)
    except (OSError, OverflowError):
        return None
    if len(fixed) < LOCAL_HEADER.size:
        return None
    sig, _ver, flags, method, _t, _d, crc, csize, usize, nlen, xlen = LOCAL_HEADER.unpack(fixed)
    if sig != LOCAL_SIGNATURE:
        return None
    name = handle.read(nlen)
    extra = handle.read(xlen)
    if len(name) < nlen or len(extra) < xlen:
        return None
    zip64 = False
    pos = 0
    while pos + 4 <= len(extra):
        ident, length = struct.unpack_from("<HH", extra, pos)
        if ident == ZIP64_EXTRA_ID and length >= 16 and pos + 4 + length <= len(extra):
            zip64 = True
            if usize == 0xFFFFFFFF or csize == 0xFFFFFFFF:
                usize, csize = struct.unpack_from("<QQ", extra, pos + 4)
        pos += 4 + length
    deferred = bool(flags & 0x8)
    return LocalHeader(
        offset=offset,
        flag_bits=flags,
        method=method,
        crc=None if deferred else crc,
        compressed_size=None if deferred else csize,
        size=None if deferred else usize,
        name_bytes=name,
        data_offset=offset + LOCAL_HEADER.size + nlen + xlen,
        zip64=zip64,
    )
