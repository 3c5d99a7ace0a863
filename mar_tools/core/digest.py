"""The content digest: one SHA-256 that names a model, whatever its archive format.

Two archives get the same content digest exactly when TorchServe would extract the same
files with the same bytes and read the same manifest, whatever the container (``.mar``
zip, ``zip-store``, ``.tar.gz``, directory), the compression, the timestamps, the file
modes, the order of the entries, and the manifest's ``createdOn`` and ``archiverVersion``.

The digest is ``sha256:`` followed by the hex SHA-256 of this UTF-8 JSON document,
written with sorted keys, no spaces and no ASCII escaping (``json.dumps(doc,
sort_keys=True, separators=(",", ":"), ensure_ascii=False)``)::

    {"files": [[name, size, sha256-of-bytes], ...],    # regular files, sorted by name
     "links": [[name, target], ...],                  # symbolic links, sorted by name
     "manifest": {...} or null,                       # MAR-INF/MANIFEST.json, parsed,
     "version": 1}                                    #   less createdOn and archiverVersion

Names are the paths TorchServe extracts to (a tar.gz's top directory stripped); where a
name occurs twice the last one counts, as on disk. A manifest that is not a JSON object is
hashed as a file and ``manifest`` is null. Directory entries are not part of the content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mar_tools.core.archive.member import ContainerFormat, Member
from mar_tools.core.archive.member_stream import open_member
from mar_tools.core.archive.view import ArchiveView
from mar_tools.core.manifest import ARCHIVER_VERSION, CREATED_ON, MANIFEST_PATH

DIGEST_VERSION: Final = 1
#: Manifest keys that change with every build of the same model.
VOLATILE_KEYS: Final = (CREATED_ON, ARCHIVER_VERSION)
PREFIX: Final = "sha256:"
_BLOCK: Final = 8 << 20


@dataclass(frozen=True)
class FileHash:
    """One regular file: its name, size and the hex SHA-256 of its bytes."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ContentDigest:
    """The digest (``sha256:<hex>``) and what it was computed from."""

    value: str
    files: tuple[FileHash, ...]
    links: tuple[tuple[str, str], ...]
    manifest: Mapping[str, Any] | None

    def by_name(self) -> dict[str, FileHash]:
        return {entry.name: entry for entry in self.files}


def normalized_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """*manifest* without the keys that change with every build (see the module doc)."""
    return {key: value for key, value in manifest.items() if key not in VOLATILE_KEYS}


def compute_digest(
    files: Iterable[FileHash],
    links: Iterable[tuple[str, str]],
    manifest: Mapping[str, Any] | None,
) -> ContentDigest:
    """The content digest of *files*, *links* and the (parsed) *manifest*."""
    ordered = tuple(sorted(files, key=lambda entry: entry.name))
    ordered_links = tuple(sorted(links))
    normal = None if manifest is None else normalized_manifest(manifest)
    document = {
        "files": [[entry.name, entry.size, entry.sha256] for entry in ordered],
        "links": [list(link) for link in ordered_links],
        "manifest": normal,
        "version": DIGEST_VERSION,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    value = PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()
    return ContentDigest(value, ordered, ordered_links, normal)


def content_members(view: ArchiveView) -> list[Member]:
    """The members the digest covers: regular files (the last of each name) and links."""
    last: dict[str, Member] = {}
    for member in view.members:
        if member.kind in ("file", "symlink"):
            last[member.name] = member
    return sorted(last.values(), key=lambda member: member.name)


def hash_stream(stream: Any) -> tuple[int, str]:
    """(size, hex SHA-256) of what *stream* holds from its position to its end."""
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(_BLOCK)
    view = memoryview(buffer)
    while count := stream.readinto(buffer):
        digest.update(view[:count])
        size += count
    return size, digest.hexdigest()


def hash_file(path: Path) -> str:
    """Hex SHA-256 of the file at *path*."""
    with open(path, "rb", buffering=0) as handle:
        return hash_stream(handle)[1]


def digest_view(
    view: ArchiveView, *, jobs: int = 2, also: Sequence[Callable[[], object]] = ()
) -> tuple[ContentDigest, list[object]]:
    """The content digest of *view*, reading every file once (CRCs are checked on the way:
    a damaged member raises :class:`~mar_tools.core.errors.ArchiveError`).

    Files are hashed on *jobs* threads (hashing and inflating release the GIL); the
    callables *also* run on the same pool (hashing the archive file itself, say) and their
    results are returned in order.
    """
    members = content_members(view)
    regular = [member for member in members if member.kind == "file"]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        extra = [pool.submit(task) for task in also]
        if view.format is ContainerFormat.TGZ:
            # One gzip stream: its members are read in order, by one thread.
            ordered = sorted(regular, key=lambda member: member.index)
            batch = pool.submit(lambda: [_hash_member(view, member) for member in ordered])
            results = dict(zip((m.name for m in ordered), batch.result(), strict=True))
        else:
            hashed: dict[str, Future[tuple[int, str]]] = {
                member.name: pool.submit(_hash_member, view, member) for member in regular
            }
            results = {name: future.result() for name, future in hashed.items()}
        done = [future.result() for future in extra]
    manifest = None
    manifest_member = view.find(MANIFEST_PATH)
    if manifest_member is not None:
        manifest = _manifest_object(view, manifest_member)
    files = [
        FileHash(name, size, sha)
        for name, (size, sha) in results.items()
        if not (name == MANIFEST_PATH and manifest is not None)
    ]
    links = [(m.name, m.link_target or "") for m in members if m.kind == "symlink"]
    return compute_digest(files, links, manifest), done


def _hash_member(view: ArchiveView, member: Member) -> tuple[int, str]:
    with open_member(view, member) as stream:
        return hash_stream(stream)


def _manifest_object(view: ArchiveView, member: Member) -> Mapping[str, Any] | None:
    with open_member(view, member) as stream:
        data = stream.read(16 << 20)
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def archive_digest(path: Path, *, jobs: int = 2) -> ContentDigest:
    """The content digest of the archive (``.mar``, ``.tar.gz`` or directory) at *path*."""
    from mar_tools.core.archive import open_archive

    with open_archive(path) as view:
        return digest_view(view, jobs=jobs)[0]
