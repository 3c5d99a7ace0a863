"""The view of a ``.tar.gz`` archive.

Opening reads the archive once from start to end (gzip has no index,
:mod:`~mar_tools.core.archive.tar_stream`): that pass lists the members within the limits,
keeps small files in memory and checks the gzip CRC, so a truncated or corrupt tar.gz fails
to open instead of failing half-way through a later read. Larger members are read later
through a second reader of the same open file, unless a *visit* (see :data:`Visit`) already
read what it needed of them during that pass.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Callable
from typing import IO

from mar_tools.core.archive.archive_file import ArchiveFile
from mar_tools.core.archive.member import ContainerFormat, Member, MemberKind, strip_first_component
from mar_tools.core.archive.tar_stream import gzip_reader, tar_members
from mar_tools.core.archive.view import READ_ERRORS, ArchiveView
from mar_tools.core.errors import ArchiveError
from mar_tools.core.limits import Limits

#: :data:`READ_ERRORS` and tarfile's errors: what reading a tar.gz with :mod:`tarfile`
#: itself (not through a view's streams) can raise.
TAR_READ_ERRORS: tuple[type[BaseException], ...] = (*READ_ERRORS, tarfile.TarError)

#: Tar members up to this size are kept in memory by the listing pass ...
TAR_CACHE_FILE_LIMIT = 1 << 20
#: ... up to this many bytes in all.
TAR_CACHE_TOTAL_LIMIT = 64 << 20


#: Called during the opening pass with each regular member not kept in memory and a
#: (non-seekable, buffered) stream of its bytes, read as far as the visit wants; what it
#: returns is kept in :attr:`TarView.visited`. Its result is dropped when reading the
#: member's bytes failed inside the tar layer (a member cut short), or when the visit
#: raised one of :data:`READ_ERRORS`; a failure of the gzip layer underneath ends the
#: listing, as it would have without the visit. As from :meth:`TarView.open`, a
#: :class:`tarfile.TarError` reading the stream comes out as an :class:`ArchiveError`.
Visit = Callable[[Member, IO[bytes]], object]


class TarView(ArchiveView):
    """A ``.tar.gz``, read once on open (see the module docstring); the view owns *file*.

    Raises :class:`~mar_tools.core.limits.LimitExceeded` when the archive crosses one of
    *limits* while it is listed, :class:`ArchiveError` when it cannot be read. *visit*
    (optional) sees the larger members' bytes in that same pass (:data:`Visit`).
    """

    format = ContainerFormat.TGZ

    def __init__(
        self, file: ArchiveFile, limits: Limits | None = None, visit: Visit | None = None
    ) -> None:
        self._visit = visit
        #: What *visit* returned, by member index.
        self.visited: dict[int, object] = {}
        self._cache: dict[int, bytes] = {}
        self._seekable: tarfile.TarFile | None = None
        self._gz: IO[bytes] | None = None
        try:
            infos = self._scan(file, limits or Limits())
        except ArchiveError:
            file.close()
            raise  # LimitExceeded, already said
        except TAR_READ_ERRORS as exc:
            file.close()
            raise ArchiveError(f"{file.path}: not a readable tar.gz archive ({exc}).") from exc
        self._infos = infos
        super().__init__(file.path, [tar_member(i, info) for i, info in enumerate(infos)], file)

    def _scan(self, file: ArchiveFile, limits: Limits) -> list[tarfile.TarInfo]:
        infos: list[tarfile.TarInfo] = []
        cached = 0
        with (
            file.reader() as raw,
            # Closed on the way out, whatever ends the pass: that stops the inflating worker
            # before the reader it reads from is closed.
            contextlib.closing(
                tar_members(raw, limits, file.size, str(file.path), ahead=True)
            ) as members,
        ):
            for info, stream in members:
                small = stream is not None and info.size <= TAR_CACHE_FILE_LIMIT
                if stream is not None and small and cached + info.size <= TAR_CACHE_TOTAL_LIMIT:
                    self._cache[len(infos)] = stream.read()
                    cached += info.size
                elif stream is not None and self._visit is not None:
                    self._visited(self._visit, tar_member(len(infos), info), stream)
                infos.append(info)
        return infos

    def _visited(self, visit: Visit, member: Member, stream: IO[bytes]) -> None:
        watched = _Watched(stream)
        try:
            result = visit(member, io.BufferedReader(watched, buffer_size=1 << 20))
        except READ_ERRORS:
            result = None
        if watched.error is not None and not isinstance(watched.error, tarfile.TarError):
            raise watched.error  # the gzip layer: the listing would have failed here too
        if watched.error is None and result is not None:
            self.visited[member.index] = result

    def open(self, member: Member) -> IO[bytes]:
        cached = self.open_range(member)
        if cached is not None:
            return cached
        info = self._infos[member.index]
        if not info.isreg():
            raise ArchiveError(f"{self.path}: {member.raw_name} is not a regular file.")
        if self._seekable is None:
            # A second pass over the same open file; tarfile seeks forward in it.
            assert self.file is not None
            self._gz = gzip_reader(self.file.reader())
            try:
                self._seekable = tarfile.open(fileobj=self._gz, mode="r:")  # noqa: SIM115
            except (tarfile.TarError, OSError) as exc:
                raise ArchiveError(f"{self.path}: cannot reopen ({exc}).") from exc
        stream = self._seekable.extractfile(info)
        if stream is None:
            raise ArchiveError(f"{self.path}: {member.raw_name} is not a regular file.")
        return io.BufferedReader(_Watched(stream))

    def open_range(self, member: Member) -> IO[bytes] | None:
        data = self._cache.get(member.index)
        return None if data is None else io.BytesIO(data)

    def close(self) -> None:
        if self._seekable is not None:
            self._seekable.close()
            self._seekable = None
        if self._gz is not None:
            self._gz.close()
            self._gz = None
        super().close()


def tar_member(index: int, info: tarfile.TarInfo) -> Member:
    """The :class:`Member` of tar header *info*, the *index*-th of its archive."""
    kind: MemberKind
    if info.isreg():
        kind = "file"
    elif info.isdir():
        kind = "dir"
    elif info.issym() or info.islnk():
        kind = "symlink"
    else:
        kind = "other"
    # tarfile drops a directory's trailing "/"; TorchServe sees "m/", which strips to "".
    name = "" if kind == "dir" and "/" not in info.name else strip_first_component(info.name)
    return Member(
        index=index,
        name=name,
        raw_name=info.name,
        kind=kind,
        size=info.size,
        compressed_size=info.size,
        mode=info.mode,
        link_target=info.linkname or None,
        mtime=float(info.mtime),
    )


class _Watched(io.RawIOBase):
    """A member's stream that remembers the first error a read of it raised, and raises a
    :class:`tarfile.TarError` (a member cut short) as an :class:`ArchiveError` with the same
    text, which :data:`READ_ERRORS` catches."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return self._stream.readinto(buffer)  # type: ignore[attr-defined,no-any-return]
        except BaseException as exc:
            if self.error is None:
                self.error = exc
            if isinstance(exc, tarfile.TarError):
                raise ArchiveError(str(exc) or type(exc).__name__) from exc
            raise

    def seekable(self) -> bool:
        return bool(self._stream.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()
