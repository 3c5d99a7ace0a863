"""Upstream's archiver fields (``ModelArchiverConfig``'s, and the command's flags) turned
into a typed :class:`~torch_model_archiver.spec.ArchiveSpec`.

Shared by :class:`~torch_model_archiver.model_archiver_config.ModelArchiverConfig` (the
Python API) and the command line, which reads the same fields from its parsed options
without creating a config: a build then never imports ``dataclasses``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard, TypeVar, Union

from torch_model_archiver.errors import InputError
from torch_model_archiver.spec import (
    ArchiveFormat,
    ArchiveSpec,
    ExtraFilesLayout,
    Runtime,
    split_extra_files,
)

StrPath = Union[str, "os.PathLike[str]"]
Choice = TypeVar("Choice", Runtime, ArchiveFormat)

#: The fields, in upstream's order (``ModelArchiverConfig``'s, the flags' destinations).
CONFIG_FIELDS = (
    "model_name",
    "handler",
    "version",
    "serialized_file",
    "model_file",
    "extra_files",
    "runtime",
    "export_path",
    "archive_format",
    "force",
    "requirements_file",
    "config_file",
)


def spec_from_fields(
    values: Mapping[str, Any],
    *,
    base_dir: StrPath | None = None,
    source_date_epoch: int | None = None,
    extra_files_layout: ExtraFilesLayout = ExtraFilesLayout.FLAT,
) -> ArchiveSpec:
    """The spec for *values* (every name of :data:`CONFIG_FIELDS`; others are ignored).

    Relative paths are read from *base_dir* (default: the current directory). Raises
    :class:`InputError` for a runtime or archive format upstream does not know.
    """
    problems: list[str] = []
    runtime = _choice(Runtime, values["runtime"], "runtime", problems)
    archive_format = _choice(ArchiveFormat, values["archive_format"], "archive_format", problems)
    if problems or runtime is None or archive_format is None:
        raise InputError(f"invalid configuration for {values['model_name']!r}", problems)
    return ArchiveSpec(
        model_name=values["model_name"],
        handler=os.fspath(values["handler"]),  # a path object works too
        version=values["version"],
        serialized_file=_path(values["serialized_file"]),
        model_file=_path(values["model_file"]),
        extra_files=_extra_files(values["extra_files"]),
        runtime=runtime,
        export_path=_path(values["export_path"]) or Path(),
        archive_format=archive_format,
        force=bool(values["force"]),
        requirements_file=_path(values["requirements_file"]),
        config_file=_path(values["config_file"]),
        extra_files_layout=extra_files_layout,
        source_date_epoch=source_date_epoch,
        base_dir=Path(base_dir) if base_dir is not None else Path.cwd(),
    )


def _given(value: StrPath | None) -> TypeGuard[StrPath]:
    """Upstream skips every falsy value: ``None`` and ``""`` both mean "not given"."""
    return value is not None and os.fspath(value) != ""


def _path(value: StrPath | None) -> Path | None:
    return Path(value) if _given(value) else None


def _extra_files(value: str | Sequence[StrPath] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return split_extra_files(value)
    return tuple(os.fspath(item) for item in value if _given(item))


def _choice(kind: type[Choice], value: object, name: str, problems: list[str]) -> Choice | None:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in kind)
        problems.append(f"{name} {value!r} is not one of {allowed}")
        return None
