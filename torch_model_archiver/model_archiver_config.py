"""``ModelArchiverConfig``: upstream's Python API configuration, field for field.

Same field names, order and defaults as upstream 0.12's ``model_archiver.ModelArchiverConfig``
so that code written for it works unchanged, with two fixes: ``export_path`` defaults to the
current directory *when the config is created* (upstream froze it at import time), and
every path field accepts ``os.PathLike`` as well as ``str``. The class is a plain mutable
dataclass, as upstream's is, because callers set fields after construction (and may use
``dataclasses`` on it). The command line does not create one: it turns the same fields into
a spec directly (:mod:`torch_model_archiver.config_fields`), without importing
``dataclasses``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

from torch_model_archiver.config_fields import CONFIG_FIELDS, StrPath, spec_from_fields
from torch_model_archiver.spec import ArchiveSpec, ExtraFilesLayout, Runtime

if TYPE_CHECKING:
    from argparse import Namespace

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
        return cls(**{name: options[name] for name in CONFIG_FIELDS})

    def to_spec(
        self,
        *,
        base_dir: StrPath | None = None,
        source_date_epoch: int | None = None,
        extra_files_layout: ExtraFilesLayout = ExtraFilesLayout.FLAT,
    ) -> ArchiveSpec:
        """The typed :class:`ArchiveSpec` for this config (see :func:`spec_from_fields`)."""
        return spec_from_fields(
            {name: getattr(self, name) for name in CONFIG_FIELDS},
            base_dir=base_dir,
            source_date_epoch=source_date_epoch,
            extra_files_layout=extra_files_layout,
        )
