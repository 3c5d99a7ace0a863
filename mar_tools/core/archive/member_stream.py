"""One member's bytes as a stream that fails at its end when they are not what was recorded.

:func:`open_member` is how a command reads a whole member it will trust (hash, compare,
copy). A zip member that is STORED or DEFLATED goes through the fast
:class:`~mar_tools.core.archive.entry_reader.EntryStream` (large blocks, the fastest CRC
and inflate); when its bytes are read to the end, a CRC or size mismatch raises
:class:`ArchiveError` instead of returning the last bytes silently. Other members are read
through their view (zipfile checks CRCs too; a tar.gz's gzip CRC was checked on opening).
"""

from __future__ import annotations

import io
from typing import IO, cast

from mar_tools.core.archive.entry_reader import EntryStream
from mar_tools.core.archive.member import Member
from mar_tools.core.archive.view import ArchiveView
from mar_tools.core.archive.zip_view import ZipView
from mar_tools.core.errors import ArchiveError

_BUFFER = 1 << 20


def open_member(view: ArchiveView, member: Member) -> IO[bytes]:
    """A buffered stream of *member*'s bytes; raises :class:`ArchiveError` on damage."""
    if (
        isinstance(view, ZipView)
        and member.kind == "file"
        and not member.encrypted
        and member.compress_type in (0, 8)
        and member.crc is not None
    ):
        header = view.local_headers.get(member.index)
        if header is None:
            raise ArchiveError(f"{view.path}: {member.name} has no local header.")
        raw = _CheckedEntry(view, member, header.data_offset)
        return io.BufferedReader(raw, buffer_size=_BUFFER)
    return view.open(member)


class _CheckedEntry(io.RawIOBase):
    def __init__(self, view: ZipView, member: Member, data_offset: int) -> None:
        super().__init__()
        self._file = open(view.path, "rb", buffering=0)  # noqa: SIM115 (closed by close())
        self._label = f"{view.path}: {member.name}"
        self._entry = EntryStream.at(
            cast(io.RawIOBase, self._file),
            data_offset,
            member.compressed_size,
            member.size,
            member.crc or 0,
            member.compress_type or 0,
        )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._entry.readinto(buffer)
        if count == 0 and self._entry.problem is not None:
            problem = self._entry.problem
            raise ArchiveError(f"{self._label} {problem.message}.")
        return count

    def close(self) -> None:
        if not self.closed:
            self._entry.close()  # first: a read-ahead worker may still be reading the file
            self._file.close()
        super().close()
