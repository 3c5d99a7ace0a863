"""One build, start to finish: check everything, then write beside the target and rename.

:func:`build_archive` is the typed entry point of the library. Order of work:

1. the time for ``createdOn`` is taken (before any check, as upstream does);
2. the spec's values, every input file and the output location are checked, and all
   problems are raised at once as one :class:`InputError` (nothing written yet);
3. the export directory is created if missing;
4. the writer for the format writes into a temporary file or directory beside the target
   (``output.py``), which is renamed over the target only when complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from mar_tools.core.manifest import Manifest, format_created_on
from mar_tools.core.record import record
from mar_tools.core.reporter import Reporter, SilentReporter
from torch_model_archiver.compression import Backend, select_backend
from torch_model_archiver.errors import (
    InputError,
    MissingInputError,
    ModelArchiverError,
    OutputWriteError,
)
from torch_model_archiver.members import ArchivePlan, plan_members
from torch_model_archiver.output import (
    ARCHIVER_TEMPS,
    FORCE_HINT,
    output_exists,
    output_problems,
    publish,
    staged_output,
)
from torch_model_archiver.pipeline import default_jobs
from torch_model_archiver.sources import Problems
from torch_model_archiver.spec import ArchiveFormat, ArchiveSpec, spec_problems
from torch_model_archiver.writing import EntryRecord, WriteJob, WriteSettings
from torch_model_archiver.zip_writer import write_zip


@record
class BuildResult:
    """What a build produced: the output path, the manifest written and every entry."""

    path: Path
    archive_format: ArchiveFormat
    manifest: Manifest
    entries: tuple[EntryRecord, ...]
    warnings: tuple[str, ...] = ()

    @property
    def input_size(self) -> int:
        return sum(entry.size for entry in self.entries)


def plan_archive(spec: ArchiveSpec) -> ArchivePlan:
    """Check *spec*, its inputs and its output without writing anything.

    Raises every problem at once as one :class:`InputError` (a :class:`MissingInputError`
    when all are missing files), or :class:`OutputExistsError` when that is the only one.
    """
    problems = Problems()
    for problem in spec_problems(spec):
        problems.add(problem)
    plan = plan_members(spec, problems)
    _check_output(spec, problems)
    if problems:
        raise _input_error(spec, problems)
    return plan


def build_archive(
    spec: ArchiveSpec,
    *,
    reporter: Reporter | None = None,
    jobs: int | None = None,
    backend: Backend | None = None,
    clock: Callable[[], float] = time.time,
    before_deflating: Callable[[], object] | None = None,
) -> BuildResult:
    """Build the archive *spec* describes; return what was written.

    Raises :class:`InputError` (every bad input at once; a ``FileNotFoundError`` too when all
    are missing files), :class:`OutputExistsError` (the output exists and ``spec.force`` is
    false), :class:`OutputWriteError` (the output could not be written; an existing one is
    untouched) or :class:`SourceChangedError`. *jobs* defaults to one thread per CPU; the
    output bytes do not depend on it. *before_deflating* is called before large chunks are
    compressed, if any are (the command tunes the allocator there).
    """
    reporter = reporter or SilentReporter()
    now = clock()
    plan = plan_archive(spec)
    for warning in plan.warnings:
        reporter.warning(warning)
    epoch = spec.source_date_epoch
    created_on = format_created_on(now) if epoch is None else format_created_on(epoch, utc=True)
    manifest = spec.manifest(created_on)
    manifest_mtime = now if plan.manifest_mtime is None else plan.manifest_mtime
    job = WriteJob(plan, manifest.render().encode("utf-8"), manifest_mtime)
    settings = WriteSettings(
        backend=backend or select_backend(),
        jobs=jobs or default_jobs(),
        deflate=spec.archive_format is not ArchiveFormat.ZIP_STORE,
        utc=epoch is not None,
        prefix=f"{spec.model_name}/" if spec.archive_format is ArchiveFormat.TGZ else "",
        before_deflating=before_deflating,
    )
    target = spec.output_path
    reporter.start("archiving", plan.total_size + len(job.manifest))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        entries = write_output(spec.archive_format, job, settings, target, spec.force, reporter)
    except OSError as exc:
        raise os_error(exc, target) from exc
    finally:
        reporter.finish()
    return BuildResult(target, spec.archive_format, manifest, entries, plan.warnings)


def _check_output(spec: ArchiveSpec, problems: Problems) -> None:
    target = spec.output_path
    output, refused = output_problems(target, spec.archive_format.is_directory, spec.force)
    for problem in output:
        problems.add(problem)
    if refused:
        if not problems:
            raise output_exists(target)
        problems.add(f"{target} already exists", hint=FORCE_HINT)


def write_output(
    archive_format: ArchiveFormat,
    job: WriteJob,
    settings: WriteSettings,
    target: Path,
    force: bool,
    reporter: Reporter,
) -> tuple[EntryRecord, ...]:
    """Write *job* in *archive_format* into a temporary beside *target*, then publish it
    (replacing an existing target only with *force*). Raises ``OSError`` and the writers'
    errors; *target* is then untouched."""
    is_dir = archive_format.is_directory
    with staged_output(target, is_dir=is_dir) as staged:
        if is_dir:
            from torch_model_archiver.dir_writer import write_directory  # shutil: only here

            entries = write_directory(job, staged.path, reporter)
        else:
            write = write_zip
            if archive_format is ArchiveFormat.TGZ:
                from torch_model_archiver.tgz_writer import write_tgz  # tarfile: only here

                write = write_tgz
            with staged.open() as out:
                entries = write(job, out, settings, reporter)
        publish(staged, force)
    return entries


def _input_error(spec: ArchiveSpec, problems: Problems) -> InputError:
    subject = f"cannot build {spec.output_path.name}"
    hint = " ".join(problems.hints) or None
    if problems.only_missing:
        hint = hint or f"relative paths are read from {spec.base_dir}."
        return MissingInputError(subject, problems.messages, hint=hint)
    return InputError(subject, problems.messages, hint=hint)


def os_error(exc: OSError, target: Path) -> ModelArchiverError:
    """Tell a source that could not be read from an output that could not be written."""
    name = str(exc.filename) if exc.filename else ""
    path = Path(name)
    temporary = ARCHIVER_TEMPS.prefix(target)
    ours = (
        not name
        or path == target
        or path in (target.parent, *target.parent.parents)
        or any(part.startswith(temporary) for part in path.parts)
    )
    reason = exc.strerror or str(exc)
    if ours:
        return OutputWriteError(
            f"cannot write {target}: {reason}; nothing was replaced.",
            hint=f"check the free space and permissions of {target.parent}.",
        )
    return ModelArchiverError(
        f"cannot read {name}: {reason}; nothing was written.",
        hint="the file changed or disappeared while the archive was being built.",
    )
