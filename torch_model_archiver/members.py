"""What goes into an archive, and under which name: the :class:`ArchivePlan`.

Planning reads only metadata (``stat``, a test open) and records every problem instead of
stopping at the first. Rules:

* ``--model-file``, ``--serialized-file``, ``--requirements-file``, ``--config-file`` and the
  handler file go to the archive root under their base names (TorchServe looks for them
  there); ``--extra-files`` follow the chosen layout (``sources.py``), which never picks
  up the output this build replaces from a walked directory or a glob.
* The handler file is ``<module>.py`` (``x``, ``x.py``, ``x:fn`` and ``x.py:fn`` all mean
  ``x.py``); built-in handler names are not copied; LSP handlers are shared libraries.
* Two different files with the same archive name are an error naming both (upstream keeps
  the last one silently); the same file named twice is archived once. A name that is both
  a file and a directory, and the reserved manifest name, are errors too.
* Entries are sorted by name; timestamps are ``source_date_epoch`` when set, else the
  files' own; permissions are normalized to 0644 (0755 when the owner may execute).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from mar_tools.core.handler_ref import BACKEND_FALLBACK_MODULES, BUILTIN_PYTHON_HANDLERS
from mar_tools.core.manifest import MANIFEST_PATH
from mar_tools.core.record import record
from mar_tools.core.spelling import did_you_mean
from torch_model_archiver.member_data import FileData, MemberData
from torch_model_archiver.sources import (
    FileId,
    Problems,
    SourceFile,
    expand_extra_files,
    file_id,
    inspect_file,
)
from torch_model_archiver.spec import ArchiveSpec, Runtime

COLLISION_HINT = "rename one of them, or keep directory paths with --extra-files-layout relative."


@record
class PlanEntry:
    """One file of the archive. ``mode`` and ``mtime`` are already normalized.

    ``source`` names the bytes in messages; they are read from ``data`` when given (a member
    of another archive, for ``mar repack``), else from the file ``source``.
    """

    arcname: str
    source: Path
    origin: str
    size: int
    mode: int
    mtime: float
    data: MemberData | None = None

    @property
    def source_data(self) -> MemberData:
        """Where the bytes are read from."""
        return self.data if self.data is not None else FileData(self.source)


@record
class ArchivePlan:
    """The sorted members of an archive (the manifest excluded) and non-fatal warnings.

    ``manifest_mtime`` is the manifest entry's timestamp: ``source_date_epoch`` when set,
    else the newest member's, so that two builds of the same files differ only in
    ``createdOn`` (``None`` when there are no members: the caller uses the build time).
    """

    members: tuple[PlanEntry, ...]
    warnings: tuple[str, ...] = ()
    manifest_mtime: float | None = None

    @property
    def total_size(self) -> int:
        return sum(member.size for member in self.members)


def plan_members(spec: ArchiveSpec, problems: Problems) -> ArchivePlan:
    """Find and check every input of *spec*; record problems and warnings in *problems*."""
    sources: list[SourceFile] = []
    named = (
        ("--model-file", spec.model_file),
        ("--serialized-file", spec.serialized_file),
        ("--requirements-file", spec.requirements_file),
        ("--config-file", spec.config_file),
    )
    for flag, path in named:
        if path is not None:
            sources += _single(spec.resolve(path), f"{flag} {path}", problems)
    handler = handler_source(spec, problems)
    if handler is not None:
        suggestion = handler_suggestion(spec, handler)
        sources += _single(spec.resolve(handler), _handler_label(spec.handler, handler), problems)
        if suggestion is not None:
            problems.hints.append(suggestion)
    sources += expand_extra_files(
        spec.extra_files,
        spec.extra_files_layout,
        spec.base_dir,
        problems,
        _existing_id(spec.output_path),
    )
    members = _unique_members(sources, spec.source_date_epoch, problems)
    newest = max((member.mtime for member in members), default=None)
    if spec.source_date_epoch is not None:
        newest = spec.source_date_epoch
    return ArchivePlan(members, tuple(problems.warnings), newest)


def handler_source(spec: ArchiveSpec, problems: Problems) -> str | None:
    """The handler file to copy (relative to ``base_dir``), or ``None`` for none."""
    ref = spec.handler_ref
    if not spec.handler:
        problems.warn("--handler is empty: TorchServe will use its default_service_handler")
        return None
    if ref.is_builtin(spec.runtime.value):
        return None
    if spec.runtime is Runtime.LSP:
        return ref.source_path("LSP", sys.platform)
    source = ref.source_path(spec.runtime.value)
    if ref.path_part in BACKEND_FALLBACK_MODULES and not spec.resolve(source).exists():
        # TorchServe's backend imports ts.torch_handler.<name>; upstream's archiver would
        # fail trying to copy <name>.py although the archive is fine without it.
        return None
    return source


def handler_suggestion(spec: ArchiveSpec, source: str) -> str | None:
    """Did-you-mean for a ``--handler`` whose file *source* does not exist: the closest
    built-in handler name (``image_clasifier``), else the closest ``.py`` file next to
    where *source* was looked for (``handlr.py``); None when it exists or nothing is close."""
    path = spec.resolve(source)
    if path.exists() or path.is_symlink():
        return None
    looks_like_a_name = not any(mark in spec.handler for mark in ("/", ".py", ":"))
    if looks_like_a_name:
        builtin = did_you_mean(spec.handler, sorted(BUILTIN_PYTHON_HANDLERS))
        if builtin is not None:
            return f"{builtin} (built-in handlers)"
    try:
        with os.scandir(path.parent) as listing:
            names = sorted(entry.name for entry in listing if entry.name.endswith(".py"))
    except OSError:
        return None
    guess = did_you_mean(path.name, names)
    if guess is None:
        return None
    return f"{guess} (in {path.parent})" if str(path.parent) != str(spec.base_dir) else guess


def _handler_label(handler: str, source: str) -> str:
    return f"--handler {handler}" if handler == source else f"--handler {handler} ({source})"


def _existing_id(path: Path) -> FileId | None:
    """The identity of what is at *path* now (a symlink itself: publishing replaces it)."""
    try:
        return file_id(path.lstat())
    except OSError:
        return None


def _single(path: Path, origin: str, problems: Problems) -> list[SourceFile]:
    info = inspect_file(path, origin, problems)
    return [] if info is None else [SourceFile(path.name, path, origin, info)]


def _unique_members(
    sources: list[SourceFile], epoch: int | None, problems: Problems
) -> tuple[PlanEntry, ...]:
    by_name: dict[str, SourceFile] = {}
    for source in sources:
        reason = _bad_name_reason(source.arcname)
        if reason:
            problems.add(f"{source.origin}: {reason}")
            continue
        seen = by_name.get(source.arcname)
        if seen is None:
            by_name[source.arcname] = source
        elif file_id(seen.stat) != file_id(source.stat):
            problems.add(
                f"two files would both be stored as {source.arcname!r}: "
                f"{seen.origin} and {source.origin}",
                hint=COLLISION_HINT,
            )
    _check_file_dir_clashes(by_name, problems)
    return tuple(
        PlanEntry(
            arcname=name,
            source=source.path,
            origin=source.origin,
            size=source.stat.st_size,
            mode=0o755 if source.stat.st_mode & stat.S_IXUSR else 0o644,
            mtime=source.stat.st_mtime if epoch is None else float(epoch),
        )
        for name, source in sorted(by_name.items())
    )


def _bad_name_reason(arcname: str) -> str | None:
    if arcname == MANIFEST_PATH:
        return f"{MANIFEST_PATH} is reserved for the manifest the archiver writes"
    if "\\" in arcname:
        return "the name contains a backslash, which Windows tools extract as a directory"
    try:
        arcname.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8"
    return None


def _check_file_dir_clashes(by_name: dict[str, SourceFile], problems: Problems) -> None:
    """A name used for a file cannot also be a directory holding other entries."""
    for name, source in sorted(by_name.items()):
        parts = name.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            clash = by_name.get(prefix)
            if clash is not None:
                problems.add(
                    f"{prefix!r} would be both a file ({clash.origin}) and a directory "
                    f"holding {name!r} ({source.origin})",
                    hint=COLLISION_HINT,
                )
