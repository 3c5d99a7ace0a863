"""Read-only views over the three archive formats: ``.mar`` zip, ``.tar.gz``, directory.

An :class:`ArchiveView` lists members with the names TorchServe would extract them to
(tar names lose their first path component, as TorchServe strips it) and streams their
bytes. Nothing is ever extracted to disk here and no archive code is imported.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from mar_tools.archive.directory_view import DirectoryView, model_root
from mar_tools.archive.member import (
    ArchiveFormat,
    Member,
    MemberKind,
    strip_first_component,
    unsafe_name_reason,
)
from mar_tools.archive.tar_view import ArchiveTooLarge, TarView
from mar_tools.archive.view import ArchiveView
from mar_tools.archive.zip_records import LocalHeader, RangeFile, read_local_header
from mar_tools.archive.zip_view import ZipView
from mar_tools.errors import ArchiveError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b"

__all__ = [
    "GZIP_MAGIC",
    "ZIP_MAGIC",
    "ArchiveFormat",
    "ArchiveTooLarge",
    "ArchiveView",
    "DirectoryView",
    "LocalHeader",
    "Member",
    "MemberKind",
    "RangeFile",
    "TarView",
    "ZipView",
    "detect_format",
    "model_root",
    "open_archive",
    "read_local_header",
    "strip_first_component",
    "unsafe_name_reason",
]


def detect_format(path: Path) -> ArchiveFormat:
    """Tell the format of *path* from its content (not its name)."""
    if path.is_dir():
        return ArchiveFormat.DIRECTORY
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except FileNotFoundError as exc:
        raise ArchiveError(f"{path}: no such file or directory.") from exc
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read ({exc.strerror}).") from exc
    if head.startswith(ZIP_MAGIC):
        return ArchiveFormat.ZIP
    if head.startswith(GZIP_MAGIC):
        return ArchiveFormat.TGZ
    if zipfile.is_zipfile(path):  # e.g. a zip with a prefix (self-extracting stub)
        return ArchiveFormat.ZIP
    raise ArchiveError(
        f"{path}: not a model archive (expected a .mar zip, a .tar.gz or a directory)."
    )


def open_archive(path: str | os.PathLike[str]) -> ArchiveView:
    """Open *path* read-only as the archive format its content shows."""
    target = Path(path)
    fmt = detect_format(target)
    if fmt is ArchiveFormat.DIRECTORY:
        return DirectoryView(target)
    if fmt is ArchiveFormat.ZIP:
        return ZipView(target)
    return TarView(target)
