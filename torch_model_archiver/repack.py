"""Rewriting an archive in another format: ``mar repack``, on the archiver's writers.

The members are read from the source archive through the core's read-only views (never
extracted, never from the original inputs) and written by the same writers as a build, so
the output follows the same rules: names sorted, the manifest last, modes 0644/0755,
deflate where it pays (never for ``zip-store``), timestamps in UTC. A STORED zip member is
copied by the kernel straight from the source file and its CRC checked; a compressed one is
inflated and checked as it is read. The content digest is the same before and after.

* **Timestamps**: ``SOURCE_DATE_EPOCH`` when set, else each member's own; the output then
  depends only on the source's bytes (and the epoch): repacking twice gives equal bytes.
* **normalize**: also rewrite the manifest as our archiver writes it (``createdOn`` from
  ``SOURCE_DATE_EPOCH``, in UTC, when set; ``archiverVersion`` ours) and give every member
  the same timestamp; an archive upstream built then becomes byte for byte the archive our
  archiver builds from the same files with the same ``SOURCE_DATE_EPOCH``.
* **A zip of a folder** (every name under ``<dir>/``, the manifest at
  ``<dir>/MAR-INF/MANIFEST.json``) and a tar.gz without its top directory are taken from
  where their manifest is, so the output is one TorchServe can load.
* **Unsafe members** (names leaving the model directory, links, devices, encryption) are
  refused as ``mar run`` refuses them: nothing is written.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from mar_tools.core.archive import (
    ArchiveView,
    ContainerFormat,
    Member,
    ZipView,
    open_archive,
)
from mar_tools.core.archive.member_stream import open_member
from mar_tools.core.errors import ArchiveError
from mar_tools.core.extraction import refuse_unsafe
from mar_tools.core.manifest import (
    ARCHIVER_VERSION,
    CREATED_ON,
    MANIFEST_PATH,
    MODEL,
    MODEL_NAME,
    Manifest,
    format_created_on,
)
from mar_tools.core.model_source import TEXT_LIMIT, BrokenModel, ModelProblem, decode_manifest
from mar_tools.core.record import record
from mar_tools.core.reporter import Reporter, SilentReporter
from torch_model_archiver.builder import BuildResult, os_error, write_output
from torch_model_archiver.compression import Backend, select_backend
from torch_model_archiver.member_data import FileData, MemberData, StreamData
from torch_model_archiver.members import ArchivePlan, PlanEntry
from torch_model_archiver.output import output_exists, output_problems
from torch_model_archiver.pipeline import default_jobs
from torch_model_archiver.spec import MODEL_NAME_PATTERN, ArchiveFormat
from torch_model_archiver.version import __version__
from torch_model_archiver.writing import WriteJob, WriteSettings


@record
class RepackSpec:
    """What to repack: ``source`` into ``archive_format`` at ``output`` (None: the current
    directory, named after the model as a build names it)."""

    source: Path
    archive_format: ArchiveFormat
    output: Path | None = None
    normalize: bool = False
    force: bool = False
    source_date_epoch: int | None = None


def repack_archive(
    spec: RepackSpec,
    *,
    reporter: Reporter | None = None,
    jobs: int | None = None,
    backend: Backend | None = None,
    clock: Callable[[], float] = time.time,
) -> BuildResult:
    """Rewrite *spec.source* (see the module docstring); return what was written.

    Raises :class:`ArchiveError` (an unreadable, unsafe or non-model source),
    :class:`BrokenModel` (its manifest is not a JSON object), :class:`OutputExistsError`
    (without ``force``), :class:`OutputWriteError` and :class:`SourceChangedError` (the
    source changed or is damaged); the output is then untouched.
    """
    reporter = reporter or SilentReporter()
    with open_archive(spec.source) as view:
        members = model_members(view)
        manifest_member = members.pop(MANIFEST_PATH, None)
        if manifest_member is None:
            raise ArchiveError(
                f"{spec.source}: {MANIFEST_PATH} is not in the archive; nothing to repack.",
                hint="point at a model archive (torch-model-archiver builds one).",
            )
        manifest, manifest_bytes = _manifest(view, manifest_member, spec)
        name = _model_name(manifest, spec.source)
        target = spec.output or Path.cwd() / (name + spec.archive_format.suffix)
        _check_output(target, spec)
        epoch = spec.source_date_epoch
        entries = [_entry(view, arcname, m, epoch) for arcname, m in sorted(members.items())]
        newest = max((entry.mtime for entry in entries), default=clock())
        if spec.normalize:
            entries = [_retimed(entry, newest if epoch is None else epoch) for entry in entries]
        manifest_time = _time(manifest_member, epoch, newest if spec.normalize else None)
        rendered = _normalized(manifest, spec) if spec.normalize else manifest_bytes
        job = WriteJob(ArchivePlan(tuple(entries)), rendered, manifest_time)
        fmt = spec.archive_format
        settings = WriteSettings(
            backend=backend or select_backend(),
            jobs=jobs or default_jobs(),
            deflate=fmt is not ArchiveFormat.ZIP_STORE,
            utc=True,
            prefix=f"{name}/" if fmt is ArchiveFormat.TGZ else "",
        )
        reporter.start("repacking", job.plan.total_size + len(job.manifest))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            written = write_output(fmt, job, settings, target, spec.force, reporter)
        except OSError as exc:
            raise os_error(exc, target) from exc
        finally:
            reporter.finish()
    return BuildResult(target, fmt, Manifest.from_mapping(manifest), written)


def model_members(view: ArchiveView) -> dict[str, Member]:
    """The files of the model *view* holds, by the name TorchServe would extract them to,
    from wherever its manifest is (see the module docstring); the last of a name wins.

    Raises :class:`ArchiveError` listing every member an extractor refuses.
    """
    refuse_unsafe(view, "repack")
    files = [member for member in view.members if member.kind == "file"]
    names = {member.index: member.name for member in files}
    if view.find(MANIFEST_PATH) is None:
        if view.format is ContainerFormat.TGZ:  # a tar.gz without a top directory
            names = {member.index: member.raw_name for member in files}
        names = _under_manifest(view, names)
    return {names[member.index]: member for member in files if names[member.index]}


def _under_manifest(view: ArchiveView, names: dict[int, str]) -> dict[int, str]:
    """*names* relative to the directory that holds ``MAR-INF/MANIFEST.json``, when every
    file lies below that directory (a zip of a folder); else *names* unchanged."""
    suffix = "/" + MANIFEST_PATH
    holders = sorted(
        (name[: -len(MANIFEST_PATH)] for name in names.values() if name.endswith(suffix)),
        key=len,
    )
    if not holders and MANIFEST_PATH not in names.values():
        return names
    prefix = holders[0] if holders else ""
    outside = [name for name in names.values() if not name.startswith(prefix)]
    if outside:
        raise ArchiveError(
            f"{view.path}: the manifest is at {prefix}{MANIFEST_PATH} but {outside[0]!r} is "
            "outside that directory; TorchServe cannot load this archive.",
        )
    return {index: name[len(prefix) :] for index, name in names.items()}


def _manifest(view: ArchiveView, member: Member, spec: RepackSpec) -> tuple[dict[str, Any], bytes]:
    """The manifest parsed, and its bytes (a manifest that is not a JSON object is a
    :class:`BrokenModel`, as for every command)."""
    data = None if member.size > TEXT_LIMIT else view.read(member, TEXT_LIMIT + 1)
    decoded = decode_manifest(data)
    if isinstance(decoded, ModelProblem):
        raise BrokenModel(str(spec.source), [decoded])
    assert data is not None
    return decoded, data


def _normalized(manifest: dict[str, Any], spec: RepackSpec) -> bytes:
    """The manifest as our archiver writes it (upstream's layout, ``createdOn`` first)."""
    epoch = spec.source_date_epoch
    created = manifest.get(CREATED_ON)
    if epoch is not None:
        created = format_created_on(epoch, utc=True)
    ordered: dict[str, Any] = {CREATED_ON: created} if created is not None else {}
    ordered.update((key, value) for key, value in manifest.items() if key != CREATED_ON)
    ordered[ARCHIVER_VERSION] = __version__
    return json.dumps(ordered, indent=2).encode("utf-8")


def _model_name(manifest: dict[str, Any], source: Path) -> str:
    model = manifest.get(MODEL)
    name = model.get(MODEL_NAME) if isinstance(model, dict) else None
    if isinstance(name, str) and MODEL_NAME_PATTERN.fullmatch(name):
        return name
    stem = source.name.removesuffix(".tar.gz").removesuffix(".mar")
    return stem if MODEL_NAME_PATTERN.fullmatch(stem) else "model"


def _check_output(target: Path, spec: RepackSpec) -> None:
    problems, refused = output_problems(target, spec.archive_format.is_directory, spec.force)
    if refused:
        raise output_exists(target)
    if problems:
        raise ArchiveError(f"cannot write {target}: {problems[0]}.")


def _entry(view: ArchiveView, arcname: str, member: Member, epoch: int | None) -> PlanEntry:
    mode = 0o755 if (member.mode or 0) & stat.S_IXUSR else 0o644
    return PlanEntry(
        arcname=arcname,
        source=Path(f"{view.path}:{member.raw_name}"),
        origin=member.raw_name,
        size=member.size,
        mode=mode,
        mtime=_time(member, epoch, None),
        data=_data(view, member),
    )


def _retimed(entry: PlanEntry, moment: float) -> PlanEntry:
    return PlanEntry(entry.arcname, entry.source, entry.origin, entry.size, entry.mode,
                     moment, entry.data)  # fmt: skip


def _time(member: Member, epoch: int | None, fixed: float | None) -> float:
    if epoch is not None:
        return float(epoch)
    if fixed is not None:
        return fixed
    return member.mtime if member.mtime is not None else 0.0


def _data(view: ArchiveView, member: Member) -> MemberData:
    """Read in place where the bytes lie as they are in the source file; else a stream."""
    if view.format is ContainerFormat.DIRECTORY:
        root = getattr(view, "root", view.path)
        return FileData(Path(root) / member.name, 0, member.size)
    if isinstance(view, ZipView) and member.compress_type == 0 and not member.encrypted:
        header = view.local_headers.get(member.index)
        if header is not None:
            size = view.path.stat().st_size
            return FileData(view.path, header.data_offset, size, member.crc)

    def reopen() -> IO[bytes]:
        return open_member(view, member)

    return StreamData(reopen)
