"""The extraction cache: each archive extracted once, under the digest of the bytes it was
extracted from.

A directory archive is used in place (a lone sub-directory is the model directory, as in
TorchServe). A ``.mar`` zip or ``.tar.gz`` is extracted (:func:`~mar_tools.core.archive.
extractor.extract_archive`: checked, within the limits) into
``<cache>/v2/<algorithm>-<digest>``:

* **Keyed by what was extracted.** The extraction reads the archive once, from one open
  descriptor, and hashes every byte it reads in the same pass (BLAKE3 where the ``blake3``
  package is installed, else SHA-256: :mod:`~mar_tools.core.archive.archive_hash`; a
  large stored entry is hashed as it was written to its file); the directory is published
  under ``blake3-<hex>`` or ``sha256-<hex>`` of exactly those bytes, and only after every
  entry was verified (CRC, sizes, the structural checks, the limits). An archive replaced
  during the run (``torch-model-archiver -f`` renames a new file over it) cannot mix into
  the result, and an archive written to in place is refused. Two copies of one archive
  share an extraction.
* **Cheap when cached.** Hashing 1 GiB on every run would cost about a second, so the
  name is remembered in ``index/<key>``, where the key hashes the archive's path and the
  fingerprint (device, inode, size, mtime and ctime in nanoseconds) of the file that was
  read. Any write to the file changes its ctime, which ``touch``/``utime`` cannot set back,
  so an unchanged key means unchanged bytes; a hit costs an ``open``, an ``fstat`` and two
  small reads.
* **Atomic and safe under concurrency.** Members are written into a locked temporary
  directory beside the target (:class:`~mar_tools.core.staging.Staged`), renamed into
  place when complete; of two processes extracting the same archive, one rename wins and
  the other discards its copy. A half-extracted directory is never visible under a final
  name, and every run deletes what killed extractions left (temporaries no live process
  holds the lock of), as does ``mar env prune``.
* **Versioned.** ``v2``: extractions made by earlier versions (keyed before they were
  verified) are never reused.
* **Kept while used.** The process that gets an extraction from the cache holds its use
  lock (``use/<algorithm>-<digest>``, a shared ``flock``, see :mod:`~mar_tools.core.use_lock`)
  until it exits, and sets the lock file's modification time: that is the extraction's last
  use, by which ``mar cache prune`` removes the least recently used first, never one that a
  process holds (:mod:`~mar_tools.core.extraction_store`).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mar_tools.core.archive import (
    ArchiveFile,
    ArchiveView,
    Fingerprint,
    model_root,
    open_archive,
    refusal_reason,
)
from mar_tools.core.archive.archive_hash import parse_name
from mar_tools.core.archive.extractor import extract_archive
from mar_tools.core.errors import ArchiveError, UsageError
from mar_tools.core.fs import write_atomically
from mar_tools.core.limits import Limits
from mar_tools.core.reporter import PROGRESS_THRESHOLD, Reporter, SilentReporter
from mar_tools.core.staging import MAR_TEMPS, Staged, sweep
from mar_tools.core.use_lock import hold_shared

#: The layout of the cache; extractions under another name are not reused.
LAYOUT: Final = "v2"
#: What the temporaries of the cache are named after (``.extraction.mar-<hex>.partial``).
_INCOMING: Final = "extraction"
#: What the temporary directory of a ``--no-cache`` run is named after, in the temp dir.
_SCRATCH: Final = "mar-run"
_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class ExtractedModel:
    """The model directory, and how it got there: ``in-place``, ``cached`` or ``extracted``."""

    model_dir: Path
    how: str


def cache_root(cache: Path) -> Path:
    """Where the extractions of cache directory *cache* are (``<cache>/v2``)."""
    return cache / LAYOUT


def use_lock_path(cache: Path, name: str) -> Path:
    """The use lock of extraction *name* (``<algorithm>-<digest>``) in cache directory
    *cache*."""
    return cache_root(cache) / "use" / name


def index_key(archive: Path, fingerprint: Fingerprint) -> str:
    """The index key of the file at *archive* with *fingerprint*."""
    return hashlib.sha256(f"{archive.resolve()}\0{fingerprint}".encode()).hexdigest()


def prepare_model_dir(
    archive: Path,
    cache: Path,
    limits: Limits | None = None,
    reporter: Reporter | None = None,
) -> ExtractedModel:
    """The model directory for *archive*, from the cache *cache* (see the module docstring),
    held in use until this process exits. The first extraction of an archive of at least
    :data:`~mar_tools.core.reporter.PROGRESS_THRESHOLD` bytes is a task of *reporter*
    (a spinner on a terminal).

    Raises :class:`~mar_tools.core.errors.ArchiveError` for a missing, unreadable, unsafe
    or damaged archive (:class:`~mar_tools.core.limits.LimitExceeded` when it crosses one
    of *limits*), and :class:`UsageError` when the cache directory cannot be written.
    """
    if archive.is_dir():
        return ExtractedModel(model_root(archive.absolute()), "in-place")
    with ArchiveFile.open(archive) as file:
        try:
            return _from_cache(file, cache, limits or Limits(), reporter or SilentReporter())
        except OSError as exc:
            raise _unusable(cache, exc) from exc


@contextlib.contextmanager
def model_directory(
    archive: Path,
    cache: Path | None,
    limits: Limits | None = None,
    reporter: Reporter | None = None,
) -> Iterator[ExtractedModel]:
    """:func:`prepare_model_dir`, or with *cache* None (``--no-cache``) a fresh extraction
    into a locked temporary directory that is deleted when the ``with`` block ends (and by
    the next run, should this process be killed: every run sweeps them)."""
    scratch = Path(tempfile.gettempdir()) / _SCRATCH
    sweep(scratch.parent, MAR_TEMPS, target=scratch)
    if cache is not None or archive.is_dir():
        yield (
            prepare_model_dir(archive, cache, limits, reporter)
            if cache is not None
            else ExtractedModel(model_root(archive.absolute()), "in-place")
        )
        return
    with contextlib.ExitStack() as stack:
        with ArchiveFile.open(archive) as file:
            try:
                staged = stack.enter_context(Staged(scratch, is_dir=True))
                with _progress(file, reporter or SilentReporter()):
                    extract_archive(file, staged.path, limits, hashing=False)
            except OSError as exc:
                raise UsageError(
                    f"cannot extract {archive} into a temporary directory in {scratch.parent} "
                    f"({exc.strerror or exc}).",
                    hint="point TMPDIR at a writable directory with enough space.",
                ) from exc
        yield ExtractedModel(staged.path, "extracted")


def sweep_cache(cache: Path) -> list[Path]:
    """Delete what killed extractions left in cache directory *cache*, and what killed
    ``--no-cache`` runs left in the temporary directory (temporaries no live process
    holds); return what was deleted."""
    scratch = Path(tempfile.gettempdir()) / _SCRATCH
    return [*sweep(cache_root(cache), MAR_TEMPS), *sweep(scratch.parent, MAR_TEMPS, target=scratch)]


def _from_cache(
    file: ArchiveFile, cache: Path, limits: Limits, reporter: Reporter
) -> ExtractedModel:
    root = cache_root(cache)
    index = root / "index" / index_key(file.path, file.fingerprint)
    sweep(root, MAR_TEMPS)  # what killed extractions of any archive left: a scandir
    name = _read_name(index)
    if name is not None and (root / name).is_dir():
        hold_shared(use_lock_path(cache, name), touch=True)
        # Checked again under the lock: a prune may have removed it while we waited.
        if (root / name).is_dir():
            return ExtractedModel(root / name, "cached")
    root.mkdir(parents=True, exist_ok=True)
    how = "cached"  # unless this run's copy is the one published
    with contextlib.ExitStack() as stack:
        staging = stack.enter_context(Staged(root / _INCOMING, is_dir=True))
        with _progress(file, reporter, " (first use)"):
            name = extract_archive(file, staging.path, limits).name
        final = root / name
        # Held before it is published: no prune can remove it between the two.
        hold_shared(use_lock_path(cache, final.name), touch=True)
        if not final.is_dir():
            try:
                staging.publish(replace=False, target=final)
                how = "extracted"
            except FileExistsError:
                if not final.is_dir():
                    raise
                # Another run extracted the same bytes first: its copy is identical.
    _write_text(index, name)
    return ExtractedModel(final, how)


@contextlib.contextmanager
def _progress(file: ArchiveFile, reporter: Reporter, note: str = "") -> Iterator[None]:
    """The extraction of *file* as a task of *reporter* (a spinner on a terminal), when it
    is large enough to take a while."""
    if file.size < PROGRESS_THRESHOLD:
        yield
        return
    reporter.start(f"extracting {file.path.name}{note}", None)
    try:
        yield
    finally:
        reporter.finish()


def _unusable(cache: Path, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot use the extraction cache {cache} ({exc.strerror or exc}).",
        hint="choose another directory with --cache-dir (or MAR_CACHE_DIR), or use --no-cache.",
    )


def _read_name(path: Path) -> str | None:
    """The extraction name in index entry *path* (:func:`~mar_tools.core.archive.
    archive_hash.parse_name`), None when it is missing or malformed."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return parse_name(text)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not durable: a damaged index entry reads as missing and costs one re-extraction.
    write_atomically(path, text.encode("ascii"), durable=False)


def refuse_unsafe(view: ArchiveView, action: str = "extract") -> None:
    """Raise :class:`ArchiveError` naming (up to five of) the members of *view* that no
    extractor writes (:func:`~mar_tools.core.archive.refusal_reason`), before anything is
    written; *action* is what was refused (``extract``, ``repack``)."""
    problems = [
        f"{member.raw_name!r}: {reason}"
        for member in view.members
        if (reason := refusal_reason(member)) is not None
    ]
    if problems:
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise ArchiveError(
            f"{view.path}: refusing to {action} unsafe members: {shown}.",
            hint="rebuild the archive with torch-model-archiver; `mar validate` lists problems.",
        )


def extract_to(
    archive: Path, target: Path, *, replace: bool = False, limits: Limits | None = None
) -> None:
    """Extract *archive* (a ``.mar``, a ``.tar.gz`` or a model directory) into the directory
    *target* (``mar extract``), with the checks and limits of the extraction cache.

    Atomic: the members are written into a locked temporary directory beside *target*,
    which is renamed into place only when complete; an existing *target* is replaced (in
    one exchange) only with *replace*. Raises :class:`ArchiveError` for a missing,
    unreadable or unsafe archive (nothing written), ``FileExistsError`` when *target*
    exists and *replace* is false, and ``OSError`` when *target* cannot be written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if not archive.is_dir():
        # The cache's own extraction: structural checks first, limits throughout.
        with ArchiveFile.open(archive) as file, Staged(target, is_dir=True) as staging:
            extract_archive(file, staging.path, limits, hashing=False)
            staging.publish(replace=replace)
        return
    with open_archive(archive) as view:
        refuse_unsafe(view)
        with Staged(target, is_dir=True) as staging:
            _copy_members(view, staging.path)
            staging.publish(replace=replace)


def _copy_members(view: ArchiveView, target: Path) -> None:
    try:
        for member in view.members:
            destination = target.joinpath(*[p for p in member.name.split("/") if p])
            if member.kind == "dir":
                destination.mkdir(parents=True, exist_ok=True)
                continue
            if destination == target:
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with view.open(member) as source, open(destination, "wb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
    except OSError as exc:
        raise ArchiveError(f"{view.path}: cannot extract ({exc}).") from exc
