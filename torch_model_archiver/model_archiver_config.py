"""``ModelArchiverConfig``: upstream's Python API configuration, field for field.

Same field names, order and defaults as upstream 0.12's ``model_archiver.ModelArchiverConfig``
so that code written for it works unchanged, with two fixes: ``export_path`` defaults to the
current directory *when the config is created* (upstream froze it at import time), and
every path field accepts ``os.PathLike`` as well as ``str``. The class is a plain mutable
dataclass, as upstream's is, because callers set fields after construction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional, TypeGuard, TypeVar, Union

from torch_model_archiver.errors import InputError
from torch_model_archiver.spec import (
    ArchiveFormat,
    ArchiveSpec,
    ExtraFilesLayout,
    Runtime,
    split_extra_files,
)

if TYPE_CHECKING:
    from argparse import Namespace

StrPath = Union[str, "os.PathLike[str]"]
Choice = TypeVar("Choice", Runtime, ArchiveFormat)
ArchiveFormatName = Literal["default", "tgz", "no-archive", "zip-store"]


@dataclass
class ModelArchiverConfig:
    """The inputs of one archive, as upstream's CLI flags name them.

    ``extra_files`` is upstream's comma-separated string; a sequence of paths is accepted too
    (then names may contain commas). ``version`` is the model's version.
    """

    model_name: str
    handler: str
    version: str
    serialized_file: Optional[StrPath] = None
    model_file: Optional[StrPath] = None
    extra_files: Optional[Union[str, Sequence[StrPath]]] = None
    runtime: str = Runtime.PYTHON.value
    export_path: StrPath = field(default_factory=os.getcwd)
    archive_format: ArchiveFormatName = "default"
    force: bool = False
    requirements_file: Optional[StrPath] = None
    config_file: Optional[StrPath] = None

    @classmethod
    def from_args(cls, args: Namespace) -> ModelArchiverConfig:
        """Build a config from an ``argparse.Namespace`` holding these field names (others
        are ignored)."""
        return cls.from_options(vars(args))

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ModelArchiverConfig:
        """Build a config from the command's parsed options: these field names among others."""
        return cls(**{item.name: options[item.name] for item in fields(cls)})

    def to_spec(
        self,
        *,
        base_dir: StrPath | None = None,
        source_date_epoch: int | None = None,
        extra_files_layout: ExtraFilesLayout = ExtraFilesLayout.FLAT,
    ) -> ArchiveSpec:
        """The typed :class:`ArchiveSpec` for this config.

        Relative paths are read from *base_dir* (default: the current directory). Raises
        :class:`InputError` for a runtime or archive format upstream does not know.
        """
        problems: list[str] = []
        runtime = _choice(Runtime, self.runtime, "runtime", problems)
        archive_format = _choice(ArchiveFormat, self.archive_format, "archive_format", problems)
        if problems or runtime is None or archive_format is None:
            raise InputError(f"invalid configuration for {self.model_name!r}", problems)
        return ArchiveSpec(
            model_name=self.model_name,
            handler=os.fspath(self.handler),  # a path object works too
            version=self.version,
            serialized_file=_path(self.serialized_file),
            model_file=_path(self.model_file),
            extra_files=_extra_files(self.extra_files),
            runtime=runtime,
            export_path=_path(self.export_path) or Path(),
            archive_format=archive_format,
            force=bool(self.force),
            requirements_file=_path(self.requirements_file),
            config_file=_path(self.config_file),
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
