"""Read-only views over the three archive formats: ``.mar`` zip, ``.tar.gz``, directory.

An :class:`ArchiveView` lists members with the names TorchServe would extract them to
(tar names lose their first path component, as TorchServe strips it) and streams their
bytes. Nothing is ever extracted to disk here and no archive code is imported.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

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
from mar_tools.core.archive.tar_view import ArchiveTooLarge, TarView
from mar_tools.core.archive.view import READ_ERRORS, ArchiveView
from mar_tools.core.archive.zip_records import LocalHeader, read_local_header
from mar_tools.core.archive.zip_view import ZipView
from mar_tools.core.errors import ArchiveError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b"
#: Where an uncompressed (POSIX or GNU) tar header says ``ustar``.
TAR_MAGIC_OFFSET = 257
TAR_MAGIC = b"ustar"

__all__ = [
    "GZIP_MAGIC",
    "READ_ERRORS",
    "ZIP_MAGIC",
    "ArchiveTooLarge",
    "ArchiveView",
    "ContainerFormat",
    "DirectoryView",
    "LocalHeader",
    "Member",
    "MemberKind",
    "NameProblem",
    "RangeFile",
    "TailFile",
    "TarView",
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


def detect_format(path: Path) -> ContainerFormat:
    """Tell the format of *path* from its content (not its name)."""
    if path.is_dir():
        return ContainerFormat.DIRECTORY
    try:
        with open(path, "rb") as handle:
            head = handle.read(TAR_MAGIC_OFFSET + len(TAR_MAGIC))
    except FileNotFoundError as exc:
        raise ArchiveError(f"{path}: no such file or directory.") from exc
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read ({exc.strerror}).") from exc
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
    if zipfile.is_zipfile(path):  # e.g. a zip with a prefix (self-extracting stub)
        return ContainerFormat.ZIP
    raise ArchiveError(
        f"{path}: not a model archive (expected a .mar zip, a .tar.gz or a directory)."
    )


def open_archive(
    path: str | os.PathLike[str],
    fmt: ContainerFormat | None = None,
    *,
    max_size: int | None = None,
) -> ArchiveView:
    """Open *path* read-only as format *fmt* (default: the format its content shows).

    *max_size* bounds the uncompressed bytes a tar.gz may expand to while it is listed
    (:class:`ArchiveTooLarge` beyond it); zip and directory views read nothing up front.
    """
    target = Path(path)
    chosen = detect_format(target) if fmt is None else fmt
    if chosen is ContainerFormat.DIRECTORY:
        return DirectoryView(target)
    if chosen is ContainerFormat.ZIP:
        return ZipView(target)
    return TarView(target, max_size=max_size)
