"""Writes the ``no-archive`` format: a directory holding the files and ``MAR-INF/MANIFEST.json``.

The directory given is a fresh, empty one (a temporary directory beside the target; see
``output.py``). Files are copied with the kernel's copy (``shutil.copyfile``); modes and
timestamps are set as in the archive formats, directories included, so that equal inputs
give equal trees.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mar_tools.core.manifest import MANIFEST_PATH
from mar_tools.core.reporter import Reporter
from torch_model_archiver.writing import EntryRecord, WriteJob, changed


def write_directory(job: WriteJob, root: Path, reporter: Reporter) -> tuple[EntryRecord, ...]:
    """Copy every member of *job* into the empty directory *root*, then the manifest."""
    records: list[EntryRecord] = []
    directories: set[Path] = set()
    for member in job.plan.members:
        target = root / member.arcname
        _make_parents(target, root, directories)
        shutil.copyfile(member.source, target)
        if target.stat().st_size != member.size:
            raise changed(member.source)
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
