"""The view of a ``.tar.gz`` archive.

Opening reads the archive once from start to end (gzip has no index): that pass lists
the members, keeps small files in memory and checks the gzip CRC, so a truncated or
corrupt tar.gz fails to open instead of failing half-way through a later read. Larger
members are read later through a second, seekable handle.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path
from typing import IO, cast

from mar_tools.core.archive.member import ContainerFormat, Member, MemberKind, strip_first_component
from mar_tools.core.archive.view import READ_ERRORS, ArchiveView
from mar_tools.core.errors import ArchiveError

#: Tar members up to this size are kept in memory by the listing pass ...
TAR_CACHE_FILE_LIMIT = 1 << 20
#: ... up to this many bytes in all.
TAR_CACHE_TOTAL_LIMIT = 64 << 20


def _gzip_open(path: Path) -> IO[bytes]:
    """A gzip reader: isal's (several times faster) when installed, else the stdlib's."""
    try:
        from isal import igzip
    except ImportError:  # pragma: no cover - isal is an optional speed-up
        return cast(IO[bytes], gzip.GzipFile(path, "rb"))
    return cast(IO[bytes], igzip.GzipFile(path, "rb"))  # type: ignore[no-untyped-call]


class ArchiveTooLarge(ArchiveError):
    """A tar.gz expands to more bytes than the caller allowed (a likely decompression bomb)."""


class TarView(ArchiveView):
    """A ``.tar.gz``, read once on open (see the module docstring).

    *max_size* bounds how many uncompressed bytes the listing pass reads before it gives up
    with :class:`ArchiveTooLarge` (None: no bound).
    """

    format = ContainerFormat.TGZ

    def __init__(self, path: Path, max_size: int | None = None) -> None:
        self._max_size = max_size
        self._cache: dict[int, bytes] = {}
        self._seekable: tarfile.TarFile | None = None
        self._gz: IO[bytes] | None = None
        try:
            infos = self._scan(path)
        except ArchiveError:
            raise  # ArchiveTooLarge, already said
        except READ_ERRORS as exc:
            raise ArchiveError(f"{path}: not a readable tar.gz archive ({exc}).") from exc
        self._infos = infos
        super().__init__(path, [_tar_member(i, info) for i, info in enumerate(infos)])

    def _scan(self, path: Path) -> list[tarfile.TarInfo]:
        infos: list[tarfile.TarInfo] = []
        cached = 0
        with _gzip_open(path) as gz:
            with tarfile.open(fileobj=gz, mode="r|") as tar:
                for info in tar:
                    if self._max_size is not None and info.offset_data + info.size > self._max_size:
                        raise ArchiveTooLarge(
                            f"{path}: expands to more than {self._max_size} bytes "
                            f"(at {info.name!r})."
                        )
                    small = info.isreg() and info.size <= TAR_CACHE_FILE_LIMIT
                    if small and cached + info.size <= TAR_CACHE_TOTAL_LIMIT:
                        stream = tar.extractfile(info)
                        if stream is not None:
                            self._cache[len(infos)] = stream.read()
                            cached += info.size
                    infos.append(info)
            # Read to the end of the gzip stream so that its CRC and length are checked.
            while gz.read(1 << 20):
                pass
        return infos

    def open(self, member: Member) -> IO[bytes]:
        cached = self.open_range(member)
        if cached is not None:
            return cached
        info = self._infos[member.index]
        if not info.isreg():
            raise ArchiveError(f"{self.path}: {member.raw_name} is not a regular file.")
        if self._seekable is None:
            # A second handle on the same (fast) gzip reader; tarfile seeks forward in it.
            self._gz = _gzip_open(self.path)
            try:
                self._seekable = tarfile.open(fileobj=self._gz, mode="r:")  # noqa: SIM115
            except (tarfile.TarError, OSError) as exc:
                raise ArchiveError(f"{self.path}: cannot reopen ({exc}).") from exc
        stream = self._seekable.extractfile(info)
        if stream is None:
            raise ArchiveError(f"{self.path}: {member.raw_name} is not a regular file.")
        return stream

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


def _tar_member(index: int, info: tarfile.TarInfo) -> Member:
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
