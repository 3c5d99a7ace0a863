"""Low-level zip records: local file headers, and the entry count the end record declares.

Python's zipfile trusts the central directory; TorchServe's Java frontend reads local
headers one after the other. Validation needs both views, so local headers are parsed
here, independently of zipfile.
"""

from __future__ import annotations

import struct
from typing import IO

from mar_tools.core.record import record

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
LOCAL_SIGNATURE = b"PK\x03\x04"
ZIP64_EXTRA_ID = 0x0001


@record
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
    #: The header's bytes as read (fixed part, name and extra field).
    raw: bytes = b""


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
        raw=fixed + name + extra,
    )


EOCD_SIGNATURE = b"PK\x05\x06"
EOCD = struct.Struct("<4sHHHHIIH")
ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
ZIP64_LOCATOR = struct.Struct("<4sIQI")
ZIP64_EOCD_SIGNATURE = b"PK\x06\x06"
ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")
#: The end record is at most this far from the end (its 22 bytes and a 64 KiB comment).
EOCD_SEARCH = EOCD.size + 0xFFFF


def declared_entry_count(handle: IO[bytes], size: int) -> int | None:
    """The number of entries the end of central directory record of the zip in *handle*
    (*size* bytes) declares, ZIP64 included; None when no end record is found.

    Read before the central directory is parsed, so an archive claiming millions of entries
    can be refused before a parser builds an object for each.
    """
    start = max(0, size - EOCD_SEARCH)
    try:
        handle.seek(start)
        tail = handle.read(size - start)
    except (OSError, OverflowError):
        return None
    at = tail.rfind(EOCD_SIGNATURE)
    if at < 0 or at + EOCD.size > len(tail):
        return None
    count = int(EOCD.unpack_from(tail, at)[4])
    locator_at = at - ZIP64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == ZIP64_LOCATOR_SIGNATURE:
        offset = ZIP64_LOCATOR.unpack_from(tail, locator_at)[2]
        try:
            handle.seek(offset)
            record = handle.read(ZIP64_EOCD.size)
        except (OSError, OverflowError):
            return count
        if len(record) == ZIP64_EOCD.size and record[:4] == ZIP64_EOCD_SIGNATURE:
            count = max(count, int(ZIP64_EOCD.unpack(record)[7]))
    return count
