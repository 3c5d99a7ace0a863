"""Safe, cached extraction of a model archive into the directory the worker runs in.

A directory archive is used in place (a lone sub-directory is the model directory, as in
TorchServe). A ``.mar`` zip or ``.tar.gz`` (first path component stripped) is extracted once
into ``<cache>/extracted/sha256-<digest of the archive>``:

* **Keyed by content.** Two copies of one archive share an extraction; a changed archive
  never reuses a stale one.
* **Cheap when cached.** Hashing 1 GiB on every run would cost about a second, so the digest
  is remembered in ``index/<key>``, where the key hashes the archive's path, device, inode,
  size, mtime and ctime (nanoseconds). Any write to the file changes its ctime, which
  ``touch``/``utime`` cannot set back, so an unchanged key means unchanged bytes; a hit costs
  one ``stat`` and two small reads.
* **Atomic and safe under concurrency.** Members are written into a locked temporary
  directory beside the target (:class:`~mar_tools.core.staging.Staged`), which is renamed
  into place; of two processes extracting the same archive, one rename wins and the other
  discards its copy. A half-extracted directory is never visible under the final name, and
  the leftover of a killed extraction is deleted by the next one (it holds no lock any
  more). The archive's stat is checked again after extracting, so an archive replaced
  meanwhile is not cached under the old digest.
* **Safe.** Absolute names, ``..`` components, drive letters, backslashes, symlinks,
  devices and encrypted members are refused before anything is written.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mar_tools.core.archive import ArchiveView, model_root, open_archive, refusal_reason
from mar_tools.core.errors import ArchiveError, UsageError
from mar_tools.core.fs import write_atomically
from mar_tools.core.staging import MAR_TEMPS, Staged, sweep

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ExtractedModel:
    """The model directory, and how it got there: ``in-place``, ``cached`` or ``extracted``."""

    model_dir: Path
    how: str


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file at *path* (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb") as handle:
        while count := handle.readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


def _identity(path: Path) -> tuple[str, str]:
    """(index key, stat fingerprint) of the archive file."""
    info = path.stat()
    fingerprint = (
        f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"
    )
    key = hashlib.sha256(f"{path.resolve()}\0{fingerprint}".encode()).hexdigest()
    return key, fingerprint


def prepare_model_dir(archive: Path, cache: Path | None) -> ExtractedModel:
    """The model directory for *archive* (see the module docstring).

    With *cache* None the archive is extracted into a fresh temporary directory that the
    caller owns (``--no-cache``). Raises :class:`ArchiveError` for a missing, unreadable or
    unsafe archive, and :class:`UsageError` when the cache directory cannot be written.
    """
    if archive.is_dir():
        return ExtractedModel(model_root(archive.absolute()), "in-place")
    if not archive.exists():
        raise ArchiveError(f"{archive}: no such file or directory.")
    if cache is None:
        target = Path(tempfile.mkdtemp(prefix="mar-run-"))
        try:
            with open_archive(archive) as view:
                _extract(view, target)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        return ExtractedModel(target, "extracted")
    try:
        return _from_cache(archive, cache)
    except OSError as exc:
        raise UsageError(
            f"cannot use the extraction cache {cache} ({exc.strerror or exc}).",
            hint="choose another directory with --cache-dir (or MAR_CACHE_DIR), or use --no-cache.",
        ) from exc


def _from_cache(archive: Path, cache: Path) -> ExtractedModel:
    key, fingerprint = _identity(archive)
    index = cache / "index" / key
    digest = _read_text(index)
    if digest is not None and (cache / f"sha256-{digest}").is_dir():
        return ExtractedModel(cache / f"sha256-{digest}", "cached")
    if digest is None:
        try:
            digest = sha256_of(archive)
        except OSError as exc:
            raise ArchiveError(f"{archive}: cannot read ({exc.strerror or exc}).") from exc
    final = cache / f"sha256-{digest}"
    how = "cached"
    if not final.is_dir():
        _extract_atomically(archive, final)
        how = "extracted"
    if _identity(archive)[1] != fingerprint:
        raise ArchiveError(
            f"{archive}: the archive changed while it was being read; run again.",
        )
    _write_text(index, digest)
    return ExtractedModel(final, how)


def _extract_atomically(archive: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep(final.parent, MAR_TEMPS)  # what killed extractions of any archive left
    with Staged(final, is_dir=True) as staging:
        with open_archive(archive) as view:
            _extract(view, staging.path)
        try:
            staging.publish(replace=False)
        except FileExistsError:
            if not final.is_dir():
                raise
            # Another run extracted the same archive first: its copy is identical.


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


def _extract(view: ArchiveView, target: Path) -> None:
    refuse_unsafe(view)
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
    except ArchiveError:
        raise
    except (OSError, EOFError, ValueError) as exc:
        raise ArchiveError(f"{view.path}: cannot extract ({exc}).") from exc
    except Exception as exc:  # zipfile.BadZipFile (CRC mismatch), tarfile errors, zlib.error
        raise ArchiveError(f"{view.path}: the archive is corrupt ({exc}).") from exc


def _read_text(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else None


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not durable: a damaged index entry reads as missing and costs one re-hash.
    write_atomically(path, text.encode("ascii"), durable=False)


def extract_archive(archive: Path, target: Path, *, replace: bool = False) -> None:
    """Extract *archive* (a ``.mar``, a ``.tar.gz`` or a model directory) into the directory
    *target* (``mar extract``), with exactly the checks of the extraction cache above.

    Atomic: the members are written into a locked temporary directory beside *target*,
    which is renamed into place only when complete; an existing *target* is replaced (in
    one exchange) only with *replace*. Raises :class:`ArchiveError` for a missing,
    unreadable or unsafe archive (nothing written), ``FileExistsError`` when *target*
    exists and *replace* is false, and ``OSError`` when *target* cannot be written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with Staged(target, is_dir=True) as staging:
        with open_archive(archive) as view:
            _extract(view, staging.path)
        staging.publish(replace=replace)
