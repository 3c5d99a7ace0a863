"""Extracting a ``.mar`` or ``.tar.gz`` into a directory: checked first, bounded throughout.

:func:`extract_archive` is the one way mar-tools unpacks an archive (``mar run``'s cache,
``mar env create``, and any command that writes an archive's files out). It:

* **checks before it writes**: a zip's structure is checked as ``mar validate`` checks it
  (:mod:`.structure`: unsafe names, links, special files, duplicates, the layout TorchServe's
  streaming reader needs, the declared sizes against the limits) and any fatal problem
  refuses the whole archive before a byte is written. A tar.gz has no index, so each member
  is checked by the same rules as its header arrives, before its bytes are written;
* **stays within the limits** (:class:`~mar_tools.core.limits.Limits`): an entry can never
  produce more than it declares, and a tar.gz is metered as it inflates, so a bomb stops
  with :class:`~mar_tools.core.limits.LimitExceeded` at the limit, not after filling a disk;
* **reads the archive once, from one descriptor**, in file order, verifying every entry's
  CRC and size, and hashes every byte it reads on the way (:class:`.HashingReader`): the
  digest it returns is that of exactly the bytes the files were made from. A large stored
  entry is copied by the kernel and its CRC and hash computed over the bytes as written
  (:mod:`.kernel_copy`). A file renamed over the archive's path meanwhile is never seen;
  one written to in place is noticed (its headers or CRCs no longer match, or its mtime
  moved) and refused.

It writes regular files and directories only, never follows a link, and creates nothing
outside *target*. Whatever it raises, *target* may hold part of the archive: callers
extract into a temporary directory (:class:`~mar_tools.core.staging.Staged`) and publish it
only on success.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mar_tools.core.archive.archive_file import ArchiveFile
from mar_tools.core.archive.entry_reader import EntryStream
from mar_tools.core.archive.hashing_reader import HashingReader
from mar_tools.core.archive.kernel_copy import MIN_SIZE, KernelCopy, TargetWriteError
from mar_tools.core.archive.member import ContainerFormat, Member
from mar_tools.core.archive.problem import Problem
from mar_tools.core.archive.structure import (
    declared_limit_errors,
    duplicate_problem,
    member_problems,
    path_key,
    structural_problems,
)
from mar_tools.core.archive.tar_stream import tar_members
from mar_tools.core.archive.tar_view import TAR_READ_ERRORS, tar_member
from mar_tools.core.archive.zip_layout import entry_spans
from mar_tools.core.archive.zip_view import ZipView
from mar_tools.core.errors import ArchiveError
from mar_tools.core.limits import Limits

_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_CREATE |= getattr(os, "O_NOFOLLOW", 0)
_COPY_BLOCK = 1 << 20
#: Extraction errors that come from the archive (names that collide on disk), not the disk.
_NAME_CLASHES = (FileExistsError, NotADirectoryError, IsADirectoryError)
HINT = "`mar validate` lists every problem; rebuild the archive with torch-model-archiver."


class TargetError(OSError):
    """Writing into the target directory failed (the disk's problem, not the archive's)."""


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract_archive` did: the hex digest of the archive's bytes and the
    hash's name (:mod:`.archive_hash`; both "" when not asked for), its format, and the
    files and bytes written."""

    digest: str
    format: ContainerFormat
    files: int
    size: int
    algorithm: str = ""

    @property
    def name(self) -> str:
        """``<algorithm>-<digest>``: what the extraction cache names it."""
        return f"{self.algorithm}-{self.digest}"


def extract_archive(
    archive: ArchiveFile | str | os.PathLike[str],
    target: Path,
    limits: Limits | None = None,
    *,
    hashing: bool = True,
    algorithm: str | None = None,
) -> Extraction:
    """Extract the ``.mar`` or ``.tar.gz`` *archive* (a path, or an :class:`ArchiveFile`
    the caller opened and keeps) into *target*, an existing empty directory, hashing its
    bytes with *algorithm* (default :func:`~.archive_hash.preferred_algorithm`) unless
    *hashing* is false.

    A tar.gz loses the first component of its names, as TorchServe strips it. Raises
    :class:`~mar_tools.core.limits.LimitExceeded` when the archive crosses one of *limits*
    (default :class:`Limits`), :class:`ArchiveError` when it is unsafe, damaged, changed
    while it was read, or not a zip or tar.gz, and :class:`TargetError` (an ``OSError``)
    when *target* cannot be written (a full disk, say).
    """
    if isinstance(archive, ArchiveFile):
        return _extract_file(archive, target, limits or Limits(), hashing, algorithm)
    with ArchiveFile.open(archive) as opened:
        return _extract_file(opened, target, limits or Limits(), hashing, algorithm)


def _extract_file(
    file: ArchiveFile, target: Path, limits: Limits, hashing: bool, algorithm: str | None
) -> Extraction:
    from mar_tools.core.archive import detect_format  # the package imports this module

    fmt = detect_format(file.path, file)
    try:
        if fmt is ContainerFormat.ZIP:
            view = ZipView(file.duplicate(), limits)
            try:
                _refuse_fatal(view, limits)
                with HashingReader(file, hashing=hashing, algorithm=algorithm) as reader:
                    files, size = _unzip(view, reader, target)
                    digest = _finish(file, reader)
            finally:
                view.close()
        else:
            with HashingReader(file, hashing=hashing, algorithm=algorithm) as reader:
                files, size = _untar(file, reader, target, limits)
                digest = _finish(file, reader)
    except (ArchiveError, TargetError):
        raise
    except TAR_READ_ERRORS as exc:  # the archive's bytes: tarfile, gzip, zlib, pread
        reason = str(exc) or type(exc).__name__
        raise ArchiveError(f"{file.path}: the archive is corrupt ({reason}).", hint=HINT) from exc
    return Extraction(digest, fmt, files, size, reader.algorithm)


def _refuse_fatal(view: ZipView, limits: Limits) -> None:
    for error in declared_limit_errors(view, limits, str(view.path)):
        raise error
    fatal = [problem for problem in structural_problems(view, limits) if problem.fatal]
    if fatal:
        raise _refused(view.path, fatal)


def _refused(path: Path, problems: list[Problem]) -> ArchiveError:
    shown = "; ".join(problem.message.rstrip(".") for problem in problems[:5])
    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    return ArchiveError(f"{path}: refusing to extract it: {shown}{more}.", hint=HINT)


def _changed(path: Path) -> ArchiveError:
    return ArchiveError(f"{path}: the archive changed while it was being read; run again.")


def _unzip(view: ZipView, reader: HashingReader, target: Path) -> tuple[int, int]:
    """Follow the (checked) layout from the first byte: each local header, its data, its
    descriptor, then the central directory, which must be the bytes ``view`` was read from."""
    index = view.archive.reader(view.central_directory_offset).read()
    copier = KernelCopy(reader)
    files = size = 0
    for span in entry_spans(view):
        member = span.member
        if reader.position != span.header.offset:
            raise _changed(view.path)  # the layout check made entries follow each other
        if reader.read_exactly(len(span.header.raw)) != span.header.raw:
            raise _changed(view.path)
        fd, destination = _create(target, member)
        if fd >= 0 and member.compress_type == 0 and member.compressed_size >= MIN_SIZE:
            # A stored entry: copied by the kernel, checked as written (.kernel_copy).
            entry = _entry(member, copier.copy(fd, member.compressed_size), copier.crc)
            written = _fill(fd, destination, entry.chunks(), write=False)
        else:
            entry = _entry(member, reader.chunks(member.compressed_size))
            written = _fill(fd, destination, entry.chunks())
        if entry.problem is not None:
            raise ArchiveError(f"{view.path}: {member.name} {entry.problem.message}.", hint=HINT)
        files += member.kind == "file"
        size += written
        reader.read_exactly(span.end - span.data_end)  # the data descriptor, if any
    if reader.position != view.central_directory_offset or reader.read_exactly(len(index)) != index:
        raise _changed(view.path)
    return files, size


def _entry(
    member: Member, raw: Iterable[memoryview], crc_of_raw: Callable[[], int] | None = None
) -> EntryStream:
    """The checked bytes of zip *member* from its stored bytes *raw* (whose CRC-32 the
    producer of *raw* computes, with *crc_of_raw*)."""
    return EntryStream(
        raw,
        member.compressed_size,
        member.size,
        member.crc or 0,
        member.compress_type or 0,
        crc_of_raw=crc_of_raw,
    )


def _untar(
    file: ArchiveFile, reader: HashingReader, target: Path, limits: Limits
) -> tuple[int, int]:
    """Stream the members, checking each header by the structural rules before its bytes."""
    seen: dict[str, int] = {}
    files = size = 0
    members = tar_members(reader, limits, file.size, str(file.path))
    for index, (info, stream) in enumerate(members):
        member = tar_member(index, info)
        fatal = [problem for problem in member_problems(member) if problem.fatal]
        if member.kind != "dir":
            key = path_key(member.name)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                fatal.append(duplicate_problem(key, seen[key]))
        if fatal:
            raise _refused(file.path, fatal)
        written = _place(target, member, _blocks(stream) if stream is not None else ())
        files += member.kind == "file"
        size += written
    return files, size


def _blocks(stream: IO[bytes]) -> Iterator[memoryview]:
    while block := stream.read(_COPY_BLOCK):
        yield memoryview(block)


def _place(target: Path, member: Member, chunks: Iterable[memoryview]) -> int:
    """Create *member* under *target* from *chunks*; return the bytes written.

    Only creating and writing can raise :class:`TargetError` (or, for names that collide on
    disk, :class:`ArchiveError`); errors raised while the chunks are produced (reading the
    archive) pass through as they are.
    """
    fd, destination = _create(target, member)
    return _fill(fd, destination, chunks)


def _create(target: Path, member: Member) -> tuple[int, Path]:
    """Create *member*'s directories under *target* and open its new file for reading and
    writing (-1 for a directory); :class:`TargetError` or, for names that collide on disk,
    :class:`ArchiveError` when that fails."""
    parts = [part for part in member.name.split("/") if part and part != "."]
    destination = target.joinpath(*parts)
    directory = destination if member.kind == "dir" else destination.parent
    try:
        if parts:
            directory.mkdir(parents=True, exist_ok=True)
        fd = -1 if member.kind == "dir" or not parts else os.open(destination, _CREATE, 0o666)
    except _NAME_CLASHES as exc:
        raise _clash(target, exc, member) from exc
    except OSError as exc:
        raise TargetError(exc.errno, exc.strerror, str(destination)) from exc
    return fd, destination


def _fill(fd: int, destination: Path, chunks: Iterable[memoryview], *, write: bool = True) -> int:
    """Write *chunks* into *fd* (the file :func:`_create` opened, -1 for a directory: the
    chunks are read past) and close it; return the bytes written. With *write* false the
    chunks are already in the file (a kernel copy's read-back): they are only counted."""
    if fd < 0:
        for _ in chunks:  # a directory entry's data (normally none) is read past
            pass
        return 0
    written = 0
    try:
        for chunk in chunks:
            if not write:
                written += len(chunk)
                continue
            piece = chunk
            while piece:
                try:
                    count = os.write(fd, piece)
                except OSError as exc:
                    raise TargetError(exc.errno, exc.strerror, str(destination)) from exc
                piece = piece[count:]
                written += count
    except TargetWriteError as exc:
        raise TargetError(exc.errno, exc.strerror, str(destination)) from exc
    finally:
        os.close(fd)
    return written


def _clash(where: Path, exc: OSError, member: Member | None = None) -> ArchiveError:
    name = member.name if member is not None else exc.filename
    return ArchiveError(
        f"{where}: cannot extract {name} ({exc.strerror}): a file and a directory, or two "
        "files, share a name.",
        hint=HINT,
    )


def _finish(file: ArchiveFile, reader: HashingReader) -> str:
    digest = reader.finish()
    if reader.position != file.size or file.changed():
        raise _changed(file.path)
    return digest
