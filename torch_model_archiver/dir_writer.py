"""Writes the ``no-archive`` format: a directory holding the files and ``MAR-INF/MANIFEST.json``.

The directory given is a fresh, empty one (a temporary directory beside the target; see
``output.py``). Files are copied with the kernel's copy (``shutil.copyfile``); modes and
timestamps are set as in the archive formats, directories included, so that equal inputs
give equal trees.
"""

from __future__ import annotations

import os
import shutil
import zlib
from pathlib import Path
from typing import IO

from mar_tools.core.manifest import MANIFEST_PATH
from mar_tools.core.reporter import Reporter
from torch_model_archiver.member_data import FileData, damaged, sequential
from torch_model_archiver.members import PlanEntry
from torch_model_archiver.writing import EntryRecord, WriteJob, changed


def write_directory(job: WriteJob, root: Path, reporter: Reporter) -> tuple[EntryRecord, ...]:
    """Copy every member of *job* into the empty directory *root*, then the manifest."""
    records: list[EntryRecord] = []
    directories: set[Path] = set()
    for member in job.plan.members:
        target = root / member.arcname
        _make_parents(target, root, directories)
        _copy(member, target)
        _settle(target, member.mode, member.mtime)
        records.append(EntryRecord(member.arcname, member.size, member.size, "copied"))
        reporter.advance(member.size)
    manifest = root / MANIFEST_PATH
    _make_parents(manifest, root, directories)
    manifest.write_bytes(job.manifest)
    _settle(manifest, 0o644, job.manifest_mtime)
    records.append(EntryRecord(MANIFEST_PATH, len(job.manifest), len(job.manifest), "copied"))
    reporter.advance(len(job.manifest))
    # Deepest first: setting a directory's time must come after its last child is written.
    for directory in sorted(directories, key=lambda path: len(path.parts), reverse=True):
        _settle(directory, 0o755, job.manifest_mtime)
    _settle(root, 0o755, job.manifest_mtime)
    return tuple(records)


def _copy(member: PlanEntry, target: Path) -> None:
    """Copy *member*'s bytes to the new file *target* (the kernel copies a whole file)."""
    data = member.source_data
    if isinstance(data, FileData) and data.offset == 0 and data.crc is None:
        shutil.copyfile(data.path, target)
    else:
        with sequential(data, member.size, member.source) as source, open(target, "wb") as out:
            crc = _copy_exactly(source, out, member.size)
        expected = data.crc if isinstance(data, FileData) else None
        if expected is not None and crc != expected:
            raise damaged(member.source, crc, expected)
    if target.stat().st_size != member.size:
        raise changed(member.source)


def _copy_exactly(source: IO[bytes], out: IO[bytes], size: int) -> int:
    """Copy at most *size* bytes; return their CRC-32 (a short copy is caught by the
    caller's size check)."""
    remaining, crc = size, 0
    while remaining:
        block = source.read(min(remaining, 1 << 20))
        if not block:
            break
        out.write(block)
        crc = zlib.crc32(block, crc)
        remaining -= len(block)
    return crc


def _make_parents(target: Path, root: Path, created: set[Path]) -> None:
    """Create *target*'s directories below *root* (once each) and remember them."""
    parent = target.parent
    if parent == root or parent in created:
        return
    parent.mkdir(parents=True, exist_ok=True)
    while parent != root and parent not in created:
        created.add(parent)
        parent = parent.parent


def _settle(path: Path, mode: int, mtime: float) -> None:
    path.chmod(mode)
    os.utime(path, (mtime, mtime))
