"""The view of a ``.mar`` zip archive."""

from __future__ import annotations

import functools
import io
import stat
import zipfile
from typing import IO

from mar_tools.core.archive.archive_file import ArchiveFile
from mar_tools.core.archive.member import ContainerFormat, Member, MemberKind
from mar_tools.core.archive.view import ArchiveView
from mar_tools.core.archive.zip_records import LocalHeader, declared_entry_count, read_local_header
from mar_tools.core.errors import ArchiveError
from mar_tools.core.limits import Limits

_ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError)


class ZipView(ArchiveView):
    """A ``.mar``: members come from the central directory (zipfile's parse).

    *file* is the archive, opened once; the view owns it. With *limits*, an archive whose
    end record declares more entries than allowed is refused (``LimitExceeded``) before its
    central directory is parsed.
    """

    format = ContainerFormat.ZIP

    def __init__(self, file: ArchiveFile, limits: Limits | None = None) -> None:
        path = file.path
        try:
            if limits is not None:
                with io.BufferedReader(file.reader()) as tail:
                    declared = declared_entry_count(tail, file.size)
                error = limits.entry_count(declared or 0, str(path))
                if error is not None:
                    raise error
            self._zip = zipfile.ZipFile(io.BufferedReader(file.reader(), buffer_size=1 << 16))
        except ArchiveError:
            file.close()
            raise
        except _ZIP_ERRORS as exc:
            file.close()
            raise ArchiveError(f"{path}: not a readable zip archive ({exc}).") from exc
        self.infos: tuple[zipfile.ZipInfo, ...] = tuple(self._zip.infolist())
        #: Offset of the central directory (after zipfile's correction for prefix bytes).
        self.central_directory_offset: int = int(getattr(self._zip, "start_dir", 0))
        members = [_zip_member(i, info) for i, info in enumerate(self.infos)]
        super().__init__(path, members, file)

    def open(self, member: Member) -> IO[bytes]:
        try:
            return self._zip.open(self.infos[member.index])
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as exc:
            raise ArchiveError(f"{self.path}: cannot read {member.raw_name} ({exc}).") from exc

    @property
    def archive(self) -> ArchiveFile:
        """The archive file (always open while the view is)."""
        assert self.file is not None
        return self.file

    @functools.cached_property
    def local_headers(self) -> dict[int, LocalHeader | None]:
        """Every member's parsed local header, by member index (read once, on first use);
        None where there is no local header at the offset the central directory gives."""
        headers: dict[int, LocalHeader | None] = {}
        with io.BufferedReader(self.archive.reader(), buffer_size=4096) as handle:
            for member in self.members:
                offset = member.header_offset
                headers[member.index] = (
                    None if offset is None else read_local_header(handle, offset)
                )
        return headers

    def open_range(self, member: Member) -> IO[bytes] | None:
        if member.kind != "file" or member.encrypted or member.compress_type != 0:
            return None
        header = self.local_headers.get(member.index)
        if header is None:
            return None
        raw = self.archive.reader(header.data_offset, member.compressed_size)
        return io.BufferedReader(raw, buffer_size=1 << 16)

    def close(self) -> None:
        self._zip.close()
        super().close()


def _zip_member(index: int, info: zipfile.ZipInfo) -> Member:
    mode = (info.external_attr >> 16) & 0xFFFF
    kind: MemberKind = "file"
    if info.filename.endswith("/"):
        kind = "dir"
    elif stat.S_ISLNK(mode):
        kind = "symlink"
    elif mode and not stat.S_ISREG(mode) and stat.S_IFMT(mode):
        kind = "other"
    return Member(
        index=index,
        name=info.filename,
        raw_name=info.orig_filename,
        kind=kind,
        size=info.file_size,
        compressed_size=info.compress_size,
        mode=mode or None,
        encrypted=bool(info.flag_bits & 0x1),
        crc=info.CRC,
        compress_type=info.compress_type,
        header_offset=info.header_offset,
        flag_bits=info.flag_bits,
        mtime=_zip_time(info.date_time),
    )


#: Days before each month of a common year.
_DAYS_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
#: Days from 0001-01-01 to 1970-01-01 (the proleptic Gregorian calendar).
_EPOCH_DAYS = 719_162


def _zip_time(date_time: tuple[int, int, int, int, int, int]) -> float | None:
    """A zip entry's date and time (no time zone is recorded) as seconds, read as UTC.

    The value of ``calendar.timegm`` (a test compares every date a zip can hold), computed
    here because :mod:`calendar` imports :mod:`datetime` and :mod:`locale` (start-up); None
    for a month that does not exist, where ``timegm`` raises.
    """
    year, month, day, hour, minute, second = date_time
    if not (1 <= month <= 12 and 1 <= year <= 9999):
        return None
    before = year - 1
    leap = month > 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = before * 365 + before // 4 - before // 100 + before // 400
    days += _DAYS_BEFORE_MONTH[month - 1] + leap + day - 1 - _EPOCH_DAYS
    return float(((days * 24 + hour) * 60 + minute) * 60 + second)
