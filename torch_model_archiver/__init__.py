"""torch_model_archiver: a drop-in, fast, reproducible torch-model-archiver (from mar-tools).

Upstream-compatible API (replace ``model_archiver`` by ``torch_model_archiver``)::

    from torch_model_archiver import ModelArchiver, ModelArchiverConfig
    ModelArchiver.generate_model_archive(ModelArchiverConfig("m", "handler.py", "1.0"))

Typed API::

    from torch_model_archiver import ArchiveSpec, build_archive
    result = build_archive(ArchiveSpec(model_name="m", handler="handler.py", version="1.0"))

Names are loaded on first use, so importing this package (the command line does) is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from torch_model_archiver.version import __version__

if TYPE_CHECKING:
    from mar_tools.core.reporter import Reporter, SilentReporter
    from torch_model_archiver.builder import BuildResult, build_archive, plan_archive
    from torch_model_archiver.errors import (
        InputError,
        MissingInputError,
        ModelArchiverError,
        OutputExistsError,
        OutputWriteError,
        SourceChangedError,
    )
    from torch_model_archiver.members import ArchivePlan, PlanEntry
    from torch_model_archiver.model_archiver_config import ModelArchiverConfig
    from torch_model_archiver.model_packaging import ModelArchiver, generate_model_archive
    from torch_model_archiver.spec import ArchiveFormat, ArchiveSpec, ExtraFilesLayout, Runtime
    from torch_model_archiver.writing import EntryRecord

_EXPORTS = {
    "ArchiveFormat": "spec",
    "ArchivePlan": "members",
    "ArchiveSpec": "spec",
    "BuildResult": "builder",
    "EntryRecord": "writing",
    "ExtraFilesLayout": "spec",
    "InputError": "errors",
    "PlanEntry": "members",
    "MissingInputError": "errors",
    "ModelArchiver": "model_packaging",
    "ModelArchiverConfig": "model_archiver_config",
    "ModelArchiverError": "errors",
    "OutputExistsError": "errors",
    "OutputWriteError": "errors",
    "Reporter": "mar_tools.core.reporter",
    "Runtime": "spec",
    "SilentReporter": "mar_tools.core.reporter",
    "SourceChangedError": "errors",
    "build_archive": "builder",
    "generate_model_archive": "model_packaging",
    "plan_archive": "builder",
}

__all__ = [
    "ArchiveFormat",
    "ArchivePlan",
    "ArchiveSpec",
    "BuildResult",
    "EntryRecord",
    "ExtraFilesLayout",
    "InputError",
    "MissingInputError",
    "ModelArchiver",
    "ModelArchiverConfig",
    "ModelArchiverError",
    "OutputExistsError",
    "OutputWriteError",
    "PlanEntry",
    "Reporter",
    "Runtime",
    "SilentReporter",
    "SourceChangedError",
    "__version__",
    "build_archive",
    "generate_model_archive",
    "plan_archive",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'torch_model_archiver' has no attribute {name!r}")
    if "." not in module:
        module = f"torch_model_archiver.{module}"
    return getattr(importlib.import_module(module), name)
