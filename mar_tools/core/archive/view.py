"""The read-only interface shared by the zip, tar.gz and directory views."""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path
from typing import IO

from mar_tools.core.archive.archive_file import ArchiveFile
from mar_tools.core.archive.codec import INFLATE_ERRORS
from mar_tools.core.archive.member import ContainerFormat, Member
from mar_tools.core.errors import ArchiveError

#: What reading a damaged archive, or a zip or pickle inside one, can raise: our own
#: :class:`ArchiveError`, and whatever zipfile, gzip, zlib (or isal) and the OS raise on bad
#: bytes (zipfile's parser lets KeyError, IndexError and OverflowError out). tarfile's own
#: errors come out of a tar.gz view's streams as :class:`ArchiveError` (see
#: :mod:`.tar_view`), so that this module, and a zip's start-up, need no :mod:`tarfile`.
#: Every reader that turns damage into a message rather than a crash catches this tuple.
READ_ERRORS: tuple[type[BaseException], ...] = (
    ArchiveError,
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    KeyError,
    IndexError,
    OverflowError,
    *INFLATE_ERRORS,
)


class ArchiveView:
    """Base class of the three views. Use :func:`open_archive` to get one.

    ``file`` is the archive file a zip or tar.gz view reads, opened once (None for a
    directory); closing the view closes it.
    """

    format: ContainerFormat

    def __init__(self, path: Path, members: list[Member], file: ArchiveFile | None = None) -> None:
        self.path = path
        self.members: tuple[Member, ...] = tuple(members)
        self.file = file

    def files(self) -> list[Member]:
        """Regular-file members, in container order."""
        return [m for m in self.members if m.kind == "file"]

    def find(self, name: str) -> Member | None:
        """The LAST regular file called *name* (what an extractor leaves on disk), or None."""
        return self._files_by_name.get(name)

    @functools.cached_property
    def _files_by_name(self) -> dict[str, Member]:
        return {member.name: member for member in self.files()}  # a later one wins

    def open(self, member: Member) -> IO[bytes]:
        """Return a binary stream of *member*'s bytes (zip streams check the CRC at EOF)."""
        raise NotImplementedError

    def open_range(self, member: Member) -> IO[bytes] | None:  # noqa: ARG002
        """A cheap *seekable* stream of *member*'s bytes, or None when seeking is costly.

        Available for directory files, STORED zip entries (a window on the archive file,
        with no CRC check) and small tar members kept in memory.
        """
        return None

    def read(self, member: Member, limit: int | None = None) -> bytes:
        """Read *member* whole, or at most *limit* bytes."""
        with self.open(member) as stream:
            return stream.read() if limit is None else stream.read(limit)

    def close(self) -> None:
        """Release the underlying file."""
        if self.file is not None:
            self.file.close()

    def __enter__(self) -> ArchiveView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
