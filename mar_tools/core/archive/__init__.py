"""Read-only views over the three archive formats: ``.mar`` zip, ``.tar.gz``, directory.

An :class:`ArchiveView` lists members with the names TorchServe would extract them to
(tar names lose their first path component, as TorchServe strips it) and streams their
bytes. Nothing is ever extracted to disk here and no archive code is imported.

The tar.gz view (and with it :mod:`tarfile`, :mod:`gzip` and the read-ahead worker's
modules) is imported when a tar.gz is opened, or :class:`TarView` or :data:`Visit` is
first asked for: a zip's start-up does without them (issue 15: start-up).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mar_tools.core.archive.archive_file import ArchiveFile, Fingerprint
from mar_tools.core.archive.byte_windows import RangeFile, TailFile
from mar_tools.core.archive.directory_view import DirectoryView, model_root
from mar_tools.core.archive.member import (
    ContainerFormat,
    Member,
    MemberKind,
    NameProblem,
    name_problems,
    refusal_reason,
    strip_first_component,
    unsafe_name_reason,
)
from mar_tools.core.archive.problem import Problem
from mar_tools.core.archive.view import READ_ERRORS, ArchiveView
from mar_tools.core.archive.zip_records import LocalHeader, read_local_header
from mar_tools.core.archive.zip_view import ZipView
from mar_tools.core.errors import ArchiveError
from mar_tools.core.limits import Limits

if TYPE_CHECKING:
    from mar_tools.core.archive.tar_view import TarView, Visit

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b"
#: Where an uncompressed (POSIX or GNU) tar header says ``ustar``.
TAR_MAGIC_OFFSET = 257
TAR_MAGIC = b"ustar"

__all__ = [
    "GZIP_MAGIC",
    "READ_ERRORS",
    "ZIP_MAGIC",
    "ArchiveFile",
    "ArchiveView",
    "ContainerFormat",
    "DirectoryView",
    "Fingerprint",
    "LocalHeader",
    "Member",
    "MemberKind",
    "NameProblem",
    "Problem",
    "RangeFile",
    "TailFile",
    "TarView",
    "Visit",
    "ZipView",
    "detect_format",
    "model_root",
    "name_problems",
    "open_archive",
    "read_local_header",
    "refusal_reason",
    "strip_first_component",
    "unsafe_name_reason",
]


def __getattr__(name: str) -> Any:
    """:class:`TarView` and :data:`Visit`, from :mod:`.tar_view` imported on first use."""
    if name in ("TarView", "Visit"):
        from mar_tools.core.archive import tar_view

        return getattr(tar_view, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def detect_format(path: Path, file: ArchiveFile | None = None) -> ContainerFormat:
    """Tell the format of *path* from its content (not its name); *file* is the archive
    when it is open already. Raises :class:`ArchiveError` for a missing or unreadable path,
    anything but a directory or regular file (a FIFO is refused, never waited on), and a
    file that is no archive."""
    if file is None:
        if path.is_dir():
            return ContainerFormat.DIRECTORY
        with ArchiveFile.open(path) as opened:
            return detect_format(path, opened)
    try:
        head = file.head(TAR_MAGIC_OFFSET + len(TAR_MAGIC))
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read ({exc.strerror or exc}).") from exc
    if head.startswith(ZIP_MAGIC):
        return ContainerFormat.ZIP
    if head.startswith(GZIP_MAGIC):
        return ContainerFormat.TGZ
    if head[TAR_MAGIC_OFFSET:] == TAR_MAGIC:
        # Checked before the zip fallback: a tar ending with a torch.save file (a zip) would
        # otherwise pass for a zip with a long prefix.
        raise ArchiveError(
            f"{path}: an uncompressed tar archive; TorchServe reads .mar zips and gzip'd "
            "tar archives (.tar.gz) only."
        )
    with file.reader() as reader:
        if zipfile.is_zipfile(reader):  # e.g. a zip with a prefix (self-extracting stub)
            return ContainerFormat.ZIP
    raise ArchiveError(
        f"{path}: not a model archive (expected a .mar zip, a .tar.gz or a directory)."
    )


def open_archive(
    path: str | os.PathLike[str],
    fmt: ContainerFormat | None = None,
    *,
    limits: Limits | None = None,
    visit: Visit | None = None,
) -> ArchiveView:
    """Open *path* read-only as format *fmt* (default: the format its content shows).

    The file is opened once (:class:`ArchiveFile`) and the view reads only that. *limits*
    bound what is read up front: a tar.gz is listed within them and a zip whose end record
    declares too many entries is refused (``LimitExceeded``); default :class:`Limits`.
    *visit* sees a tar.gz's larger members during its opening pass (:data:`Visit`).
    """
    target = Path(path)
    if fmt is ContainerFormat.DIRECTORY or (fmt is None and target.is_dir()):
        return DirectoryView(target)
    file = ArchiveFile.open(target)
    try:
        chosen = detect_format(target, file) if fmt is None else fmt
    except BaseException:
        file.close()
        raise
    if chosen is ContainerFormat.ZIP:
        return ZipView(file, limits or Limits())
    from mar_tools.core.archive.tar_view import TarView

    return TarView(file, limits, visit)
