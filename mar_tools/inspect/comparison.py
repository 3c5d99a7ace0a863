"""``mar diff``: what differs between two model archives, in any two formats.

:func:`diff_archives` reads both models through the core's model source and compares:

* the manifests, key by key (``createdOn`` and ``archiverVersion`` are listed as ignored:
  they change with every build of the same model, and the content digest leaves them out);
* the model configs key by key, and the requirement lines;
* the entries by content: a name on one side only is added or removed; a file of equal
  size on both sides is compared by CRC-32, taken from the zip index where there is one and
  computed from the bytes otherwise (a tar.gz member, a directory file), so two zips of the
  same files cost no reading at all. With ``digest=True`` every file is hashed (SHA-256)
  instead and both content digests are computed: CRC-32 catches every accidental change
  but can be forged, SHA-256 cannot;
* the tensors of the serialized files, when those differ (:mod:`tensor_diff`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mar_tools.core.archive import ArchiveView, ContainerFormat, Member, open_archive
from mar_tools.core.archive.codec import crc32
from mar_tools.core.archive.member_stream import open_member
from mar_tools.core.digest import VOLATILE_KEYS, ContentDigest, digest_view
from mar_tools.core.manifest import MANIFEST_PATH
from mar_tools.core.model_files import ModelFiles
from mar_tools.core.model_source import ModelSource, read_model
from mar_tools.inspect.field_diff import FieldChange, LineChanges, field_changes, line_changes
from mar_tools.inspect.inspection import requirement_lines
from mar_tools.inspect.tensor_diff import TensorComparison, compare_tensors
from mar_tools.inspect.weights_file import TooCompressed, WeightsFile

EntryStatus = Literal["added", "removed", "changed"]
_BLOCK = 8 << 20


@dataclass(frozen=True)
class EntryChange:
    """A member that differs; sizes are None on the side that lacks it."""

    name: str
    status: EntryStatus
    before_size: int | None
    after_size: int | None


@dataclass(frozen=True)
class Side:
    """One of the archives compared (``digest`` only when asked for)."""

    path: Path
    format: ContainerFormat
    digest: ContentDigest | None = None


@dataclass(frozen=True)
class Difference:
    """Everything :func:`diff_archives` found; ``compared_by`` says how entries were
    compared (``crc32`` or ``sha256``)."""

    first: Side
    second: Side
    compared_by: Literal["crc32", "sha256"]
    manifest: tuple[FieldChange, ...]
    ignored: tuple[FieldChange, ...]
    config: tuple[FieldChange, ...]
    requirements: LineChanges
    entries: tuple[EntryChange, ...]
    tensors: TensorComparison | None

    @property
    def same(self) -> bool:
        """True when the two archives hold the same model (ignored fields aside)."""
        tensors = self.tensors.changes if self.tensors else ()
        return not (
            self.manifest
            or self.config
            or self.requirements
            or self.entries
            or any(change.status != "unknown" for change in tensors)
        )


def diff_archives(first: Path, second: Path, *, digest: bool = False) -> Difference:
    """Compare the archives at *first* and *second* (see the module docstring).

    Raises :class:`~mar_tools.core.errors.ArchiveError` (an unreadable or damaged archive)
    and :class:`~mar_tools.core.model_source.BrokenModel` (a model TorchServe cannot use).
    """
    with open_archive(first) as left, open_archive(second) as right:
        sources = (read_model(ModelFiles(left), str(first)),
                   read_model(ModelFiles(right), str(second)))  # fmt: skip
        digests: tuple[ContentDigest | None, ContentDigest | None] = (None, None)
        if digest:
            digests = (digest_view(left)[0], digest_view(right)[0])
        entries = _entry_changes(left, right, digests)
        manifest, ignored = _manifest_changes(*sources)
        return Difference(
            first=Side(first, left.format, digests[0]),
            second=Side(second, right.format, digests[1]),
            compared_by="sha256" if digest else "crc32",
            manifest=tuple(manifest),
            ignored=tuple(ignored),
            config=tuple(field_changes(sources[0].model_yaml_config, sources[1].model_yaml_config)),
            requirements=line_changes(*(_requirements(s) for s in sources)),
            entries=tuple(entries),
            tensors=_tensors(sources, entries),
        )


def _manifest_changes(
    first: ModelSource, second: ModelSource
) -> tuple[list[FieldChange], list[FieldChange]]:
    changes = field_changes(first.manifest.raw, second.manifest.raw)
    kept = [change for change in changes if change.path not in VOLATILE_KEYS]
    return kept, [change for change in changes if change.path in VOLATILE_KEYS]


def _requirements(source: ModelSource) -> tuple[str, ...]:
    name = source.manifest.model.requirements_file
    return requirement_lines(source.files.view, name) or ()


def _entries(view: ArchiveView) -> dict[str, Member]:
    found = {m.name: m for m in view.members if m.kind in ("file", "symlink")}
    found.pop(MANIFEST_PATH, None)
    return found


def _entry_changes(
    left: ArchiveView, right: ArchiveView, digests: tuple[ContentDigest | None, ...]
) -> list[EntryChange]:
    before, after = _entries(left), _entries(right)
    changes = [
        EntryChange(name, "removed", before[name].size, None)
        for name in before.keys() - after.keys()
    ]
    changes += [
        EntryChange(name, "added", None, after[name].size) for name in after.keys() - before.keys()
    ]
    common = sorted(before.keys() & after.keys())
    candidates = [
        name
        for name in common
        if not _differ_without_reading(before[name], after[name]) and before[name].kind == "file"
    ]
    changed = {name for name in common if _differ_without_reading(before[name], after[name])}
    first_digest, second_digest = digests
    if first_digest is not None and second_digest is not None:
        left_hashes, right_hashes = first_digest.by_name(), second_digest.by_name()
        changed |= {n for n in candidates if left_hashes[n].sha256 != right_hashes[n].sha256}
    else:
        left_crcs = _crcs(left, [before[n] for n in candidates])
        right_crcs = _crcs(right, [after[n] for n in candidates])
        changed |= {n for n in candidates if left_crcs[n] != right_crcs[n]}
    changes += [
        EntryChange(name, "changed", before[name].size, after[name].size) for name in changed
    ]
    return sorted(changes, key=lambda change: change.name)


def _differ_without_reading(first: Member, second: Member) -> bool:
    """True when metadata alone shows a difference (kind, size, link target)."""
    if first.kind != second.kind:
        return True
    if first.kind == "symlink":
        return first.link_target != second.link_target
    return first.size != second.size


def _crcs(view: ArchiveView, members: list[Member]) -> dict[str, int]:
    """The CRC-32 of each member: recorded in a zip, computed from the bytes elsewhere (in
    archive order, so a tar.gz is read forward once)."""
    found: dict[str, int] = {}
    for member in sorted(members, key=lambda m: m.index):
        if view.format is ContainerFormat.ZIP and member.crc is not None:
            found[member.name] = member.crc
            continue
        value = 0
        with open_member(view, member) as stream:
            while block := stream.read(_BLOCK):
                value = crc32(block, value)
        found[member.name] = value
    return found


def _tensors(
    sources: tuple[ModelSource, ModelSource], entries: list[EntryChange]
) -> TensorComparison | None:
    members = [_serialized_member(source) for source in sources]
    if members[0] is None or members[1] is None:
        return None
    touched = {change.name for change in entries}
    if members[0].name == members[1].name and members[0].name not in touched:
        return None
    views = [source.files.view for source in sources]
    try:
        with (
            WeightsFile(views[0], members[0]) as first,
            WeightsFile(views[1], members[1]) as second,
        ):
            return compare_tensors(first, second)
    except TooCompressed as exc:
        return TensorComparison(members[0].name, members[1].name, (), 0, exc.message)


def _serialized_member(source: ModelSource) -> Member | None:
    name = source.manifest.model.serialized_file
    return None if name is None else source.files.view.find(posixpath.normpath(name))
