"""mar-tools: validate, inspect and run TorchServe model archives.

Importing this package is cheap: it never imports torch, click or rich.
"""

from mar_tools._version import __version__
from mar_tools.archive import ArchiveFormat, ArchiveView, Member, open_archive
from mar_tools.errors import ExitCode, MarToolsError
from mar_tools.handler_ref import HandlerRef
from mar_tools.manifest import MANIFEST_PATH, Manifest, ModelInfo

__all__ = [
    "MANIFEST_PATH",
    "ArchiveFormat",
    "ArchiveView",
    "ExitCode",
    "HandlerRef",
    "Manifest",
    "MarToolsError",
    "Member",
    "ModelInfo",
    "__version__",
    "open_archive",
]
