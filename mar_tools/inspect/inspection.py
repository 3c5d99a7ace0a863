"""``mar inspect``: everything an archive says about its model, read without running it.

:func:`inspect_archive` opens the archive read-only, reads the model through the core's
model source (a broken model raises :class:`~mar_tools.core.model_source.BrokenModel`, as
for ``mar run``), and collects the manifest, how the handler resolves, the model class,
what the serialized file is, requirements, config and every entry. It reads the central
directory, the small text files, and the serialized file's metadata (its pickle or header,
not its tensors); a ``.tar.gz`` has no index, so opening one reads it whole. With
``digest=True`` every byte is read once more for the archive's SHA-256 and the content
digest (:mod:`mar_tools.core.digest`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from mar_tools.core.archive import (
    ArchiveView,
    ContainerFormat,
    Member,
    open_archive,
    refusal_reason,
)
from mar_tools.core.manifest import Manifest
from mar_tools.core.model_files import ModelFiles
from mar_tools.core.model_source import TEXT_LIMIT, read_model
from mar_tools.core.requirements import logical_lines
from mar_tools.inspect.entry_point import HandlerEntry, ModelClass, model_class, resolve_handler
from mar_tools.inspect.serialized import SerializedInfo
from mar_tools.inspect.tensors import TensorSummary
from mar_tools.inspect.weights_file import describe_member

if TYPE_CHECKING:
    from mar_tools.core.digest import ContentDigest

#: Zip compression methods by number, as ``zipinfo`` names them.
METHODS: Final = {0: "stored", 8: "deflated", 9: "deflate64", 12: "bzip2", 14: "lzma"}
#: The model-config keys TorchServe's frontend reads (the rest is for the handler).
FRONTEND_KEYS: Final = (
    "minWorkers", "maxWorkers", "batchSize", "maxBatchDelay", "responseTimeout",
    "startupTimeout", "deviceType", "deviceIds", "parallelType", "parallelLevel", "torchrun",
    "maxRetryTimeoutInSec", "clientTimeoutInMills", "jobQueueSize", "useJobTicket",
    "sequenceMaxIdleMSec", "sequenceTimeoutMSec", "maxSequenceJobQueueSize", "maxNumSequence",
    "sequenceBatching", "continuousBatching", "asyncCommunication", "useVenv",
)  # fmt: skip


@dataclass(frozen=True)
class EntryRow:
    """One member: ``method`` is the zip method's name, ``tar`` or ``file``; ``crc`` the
    zip's recorded CRC-32 in hex (None elsewhere)."""

    name: str
    kind: str
    size: int
    compressed_size: int
    method: str
    crc: str | None

    @classmethod
    def of(cls, member: Member, fmt: ContainerFormat) -> EntryRow:
        if fmt is ContainerFormat.ZIP:
            method = METHODS.get(member.compress_type or 0, f"method {member.compress_type}")
            crc = None if member.crc is None else f"{member.crc:08x}"
        else:
            method, crc = ("tar" if fmt is ContainerFormat.TGZ else "file"), None
        name = member.name if member.kind != "dir" else member.raw_name
        return cls(name, member.kind, member.size, member.compressed_size, method, crc)


@dataclass(frozen=True)
class SerializedSummary:
    """The manifest's ``serializedFile``: its size, what it is, and its tensors' totals."""

    file: str
    size: int
    info: SerializedInfo
    totals: TensorSummary | None


@dataclass(frozen=True)
class Inspection:
    """What :func:`inspect_archive` found (see the module docstring). ``sha256`` and
    ``digest`` are None unless asked for (``sha256`` is always None for a directory)."""

    path: Path
    format: ContainerFormat
    size: int
    manifest: Manifest
    handler: HandlerEntry
    model: ModelClass | None
    serialized: SerializedSummary | None
    requirements: tuple[str, ...] | None
    config_file: str | None
    config: Mapping[str, Any]
    entries: tuple[EntryRow, ...]
    warnings: tuple[str, ...]
    sha256: str | None = None
    digest: ContentDigest | None = None

    def frontend_settings(self) -> dict[str, Any]:
        """The config keys TorchServe's frontend reads, as set in the model config."""
        return {key: self.config[key] for key in FRONTEND_KEYS if key in self.config}


def inspect_archive(path: Path, *, digest: bool = False, jobs: int = 2) -> Inspection:
    """Inspect the archive at *path* (a ``.mar``, a ``.tar.gz`` or a directory).

    Raises :class:`~mar_tools.core.errors.ArchiveError` when it cannot be opened or read,
    and :class:`~mar_tools.core.model_source.BrokenModel` when TorchServe could not use it.
    """
    with open_archive(path) as view:
        source = read_model(ModelFiles(view), str(path))
        manifest = source.manifest
        model = manifest.model
        sha256 = content = None
        if digest:
            from mar_tools.core.digest import digest_view, hash_file

            also = [] if view.format is ContainerFormat.DIRECTORY else [lambda: hash_file(path)]
            content, extra = digest_view(view, jobs=jobs, also=also)
            sha256 = str(extra[0]) if extra else None
        return Inspection(
            path=path,
            format=view.format,
            size=_size(path, view),
            manifest=manifest,
            handler=resolve_handler(view, manifest),
            model=model_class(view, model.model_file) if model.model_file else None,
            serialized=_serialized(view, model.serialized_file),
            requirements=requirement_lines(view, model.requirements_file),
            config_file=model.config_file,
            config=source.model_yaml_config,
            entries=tuple(EntryRow.of(m, view.format) for m in view.members if m.name),
            warnings=tuple(_warnings(view)),
            sha256=sha256,
            digest=content,
        )


def _size(path: Path, view: ArchiveView) -> int:
    if view.format is ContainerFormat.DIRECTORY:
        return sum(member.size for member in view.files())
    return path.stat().st_size


def _serialized(view: ArchiveView, name: str | None) -> SerializedSummary | None:
    member = view.find(posixpath.normpath(name)) if name else None
    if name is None or member is None:
        return None
    info = describe_member(view, member)
    totals = None if info.tensors is None else TensorSummary.of(info.tensors)
    return SerializedSummary(name, member.size, info, totals)


def requirement_lines(view: ArchiveView, name: str | None) -> tuple[str, ...] | None:
    """The logical lines of the requirements file *name* (comments and blanks left out),
    or None when there is none or it is too large to read."""
    member = view.find(posixpath.normpath(name)) if name else None
    if member is None or member.size > TEXT_LIMIT:
        return None
    text = view.read(member, TEXT_LIMIT).decode("utf-8", "replace")
    return tuple(line for _, line in logical_lines(text))


def _warnings(view: ArchiveView) -> list[str]:
    """What an extractor (``mar run``, ``mar extract``) would refuse, or should know."""
    found = []
    for member in view.members:
        reason = refusal_reason(member)
        if reason is not None:
            found.append(f"{member.raw_name!r}: {reason}; mar run and mar extract refuse it")
    return found
