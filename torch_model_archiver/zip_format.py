"""The bytes of a ZIP file's headers, written the way Java's ``ZipInputStream`` reads them.

TorchServe's frontend reads a ``.mar`` as a stream of local headers, so every local header
carries the real CRC and sizes (we patch them in place after writing the data: no data
descriptors, general-purpose flag bit 3 never set). ZIP64 fields appear only where a value
does not fit 32 bits (JDK-8303866: ``ZipInputStream`` has mis-read small ZIP64 entries).

The data of a large stored entry starts on a :data:`DATA_ALIGNMENT` boundary of the file, as
its source's data does (at offset 0): the local header carries a padding extra field
(:data:`PADDING_EXTRA_ID`, zeros) for it, as ``zipalign`` does. The kernel copies between
files whose pages line up as it does for ``cp`` (measured on ext4: ``benchmarks/RESULTS.md``,
issue 15's third pass), and the weights can be memory-mapped from the archive. Readers skip
extra fields they do not know; the central directory does not repeat it.
"""

from __future__ import annotations

import struct
import time
from typing import Final

from mar_tools.core.record import record, replace

ZIP64_LIMIT: Final = 0xFFFFFFFF
ENTRY_COUNT_LIMIT: Final = 0xFFFF
STORED: Final = 0
DEFLATED: Final = 8
#: General-purpose flag: the name is UTF-8.
FLAG_UTF8: Final = 0x0800
_VERSION_DEFAULT: Final = 20
_VERSION_ZIP64: Final = 45
_SYSTEM_UNIX: Final = 3
_ZIP64_EXTRA_ID: Final = 0x0001
#: Extra field that pads a local header so that the entry's data is aligned (its data are
#: zeros). An ID of our own: Android's 0xD935 stores the alignment in 16 bits, too few here.
PADDING_EXTRA_ID: Final = 0x6D74
#: Where a large stored entry's data starts: a multiple of this, from the file's start.
DATA_ALIGNMENT: Final = 64 << 10
_LOCAL: Final = struct.Struct("<IHHHHHIIIHH")
_CENTRAL: Final = struct.Struct("<IHHHHHHIIIHHHHHII")
_END: Final = struct.Struct("<IHHHHIIH")
_END64: Final = struct.Struct("<IQHHIIQQQQ")
_END64_LOCATOR: Final = struct.Struct("<IIQI")


def dos_datetime(epoch: float, *, utc: bool) -> tuple[int, int]:
    """(time, date) fields for *epoch*, clamped to the range ZIP can express (1980-2107).

    Upstream crashes on files older than 1980; we store them as 1980-01-01 00:00:00.
    """
    moment = time.gmtime(epoch) if utc else time.localtime(epoch)
    if moment.tm_year < 1980:
        return 0, (1 << 5) | 1
    if moment.tm_year > 2107:
        return (23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31
    dos_time = (moment.tm_hour << 11) | (moment.tm_min << 5) | (moment.tm_sec // 2)
    dos_date = ((moment.tm_year - 1980) << 9) | (moment.tm_mon << 5) | moment.tm_mday
    return dos_time, dos_date


def encode_name(name: str) -> tuple[bytes, int]:
    """The stored name and the flag bits it needs (UTF-8 flag only for non-ASCII names)."""
    if name.isascii():
        return name.encode("ascii"), 0
    return name.encode("utf-8"), FLAG_UTF8


@record
class ZipEntry:
    """Everything the local and central headers of one entry say.

    ``zip64`` is decided from the uncompressed size before any data is written (it fixes
    the local header's length, which must not change when the header is patched).
    """

    name: bytes
    flags: int
    method: int
    dos_time: int
    dos_date: int
    mode: int
    offset: int
    zip64: bool
    crc: int = 0
    compressed_size: int = 0
    file_size: int = 0
    #: Bytes of the local header's padding extra field (0: none); see :func:`aligned`.
    padding: int = 0

    @staticmethod
    def needs_zip64(file_size: int) -> bool:
        """True when an entry of *file_size* bytes needs ZIP64 sizes in its local header."""
        return file_size >= ZIP64_LIMIT

    @property
    def version(self) -> int:
        return _VERSION_ZIP64 if self.zip64 else _VERSION_DEFAULT

    def local_header(self) -> bytes:
        """The local file header; its length depends only on the name, ``zip64`` and
        ``padding``."""
        extra = b""
        sizes = (self.compressed_size, self.file_size)
        if self.zip64:
            extra = struct.pack("<HHQQ", _ZIP64_EXTRA_ID, 16, self.file_size, self.compressed_size)
            sizes = (ZIP64_LIMIT, ZIP64_LIMIT)
        if self.padding:
            extra += struct.pack("<HH", PADDING_EXTRA_ID, self.padding - 4)
            extra += bytes(self.padding - 4)
        return (
            _LOCAL.pack(
                0x04034B50,
                self.version,
                self.flags,
                self.method,
                self.dos_time,
                self.dos_date,
                self.crc,
                *sizes,
                len(self.name),
                len(extra),
            )
            + self.name
            + extra
        )

    def central_header(self) -> bytes:
        """The central directory record, with ZIP64 fields for the values that overflow."""
        values: list[int] = []
        sizes = (self.compressed_size, self.file_size)
        if self.zip64:
            values += [self.file_size, self.compressed_size]
            sizes = (ZIP64_LIMIT, ZIP64_LIMIT)
        offset = self.offset
        if offset >= ZIP64_LIMIT:
            values.append(offset)
            offset = ZIP64_LIMIT
        extra = b""
        if values:
            extra = struct.pack(f"<HH{len(values)}Q", _ZIP64_EXTRA_ID, 8 * len(values), *values)
        version = _VERSION_ZIP64 if values else _VERSION_DEFAULT
        return (
            _CENTRAL.pack(
                0x02014B50,
                (_SYSTEM_UNIX << 8) | version,
                version,
                self.flags,
                self.method,
                self.dos_time,
                self.dos_date,
                self.crc,
                *sizes,
                len(self.name),
                len(extra),
                0,  # comment length
                0,  # disk number
                0,  # internal attributes
                (0o100000 | self.mode) << 16,  # regular file + permissions
                offset,
            )
            + self.name
            + extra
        )


def aligned(entry: ZipEntry) -> ZipEntry:
    """*entry* (not yet padded) with the padding that starts its data on a
    :data:`DATA_ALIGNMENT` boundary; unchanged where no extra field fits: a gap under its 4
    bytes, or one longer than its 16-bit length allows next to ZIP64's (a few offsets in
    65,536)."""
    header = len(entry.local_header())
    padding = -(entry.offset + header) % DATA_ALIGNMENT
    if padding < 4 or header - 30 - len(entry.name) + padding > 0xFFFF:
        return entry
    return replace(entry, padding=padding)


def end_of_central_directory(count: int, cd_offset: int, cd_size: int) -> bytes:
    """The end records: ZIP64 end record and locator first, only when a value overflows."""
    end_offset = cd_offset + cd_size
    overflow = count >= ENTRY_COUNT_LIMIT or cd_offset >= ZIP64_LIMIT or cd_size >= ZIP64_LIMIT
    head = b""
    if overflow:
        head = _END64.pack(
            0x06064B50,
            _END64.size - 12,
            (_SYSTEM_UNIX << 8) | _VERSION_ZIP64,
            _VERSION_ZIP64,
            0,
            0,
            count,
            count,
            cd_size,
            cd_offset,
        ) + _END64_LOCATOR.pack(0x07064B50, 0, end_offset, 1)
    return head + _END.pack(
        0x06054B50,
        0,
        0,
        min(count, ENTRY_COUNT_LIMIT),
        min(count, ENTRY_COUNT_LIMIT),
        min(cd_size, ZIP64_LIMIT),
        min(cd_offset, ZIP64_LIMIT),
        0,
    )
