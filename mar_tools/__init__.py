"""mar-tools: validate, inspect and run TorchServe model archives.

Importing this package is nearly free: the public names below are loaded on first use
(every ``mar`` and ``torch-model-archiver`` start imports this package), and nothing here
ever imports torch, click or rich.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mar_tools._version import __version__

if TYPE_CHECKING:
    from mar_tools.core.archive import ArchiveView, ContainerFormat, Member, open_archive
    from mar_tools.core.errors import ExitCode, MarToolsError
    from mar_tools.core.handler_ref import HandlerRef
    from mar_tools.core.manifest import MANIFEST_PATH, Manifest, ModelInfo

#: Public name -> the module that defines it.
_EXPORTS = {
    "ContainerFormat": "mar_tools.core.archive",
    "ArchiveView": "mar_tools.core.archive",
    "Member": "mar_tools.core.archive",
    "open_archive": "mar_tools.core.archive",
    "ExitCode": "mar_tools.core.errors",
    "MarToolsError": "mar_tools.core.errors",
    "HandlerRef": "mar_tools.core.handler_ref",
    "MANIFEST_PATH": "mar_tools.core.manifest",
    "Manifest": "mar_tools.core.manifest",
    "ModelInfo": "mar_tools.core.manifest",
}

__all__ = [
    "MANIFEST_PATH",
    "ArchiveView",
    "ContainerFormat",
    "ExitCode",
    "HandlerRef",
    "Manifest",
    "MarToolsError",
    "Member",
    "ModelInfo",
    "__version__",
    "open_archive",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mar_tools' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
