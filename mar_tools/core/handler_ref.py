"""The handler-reference grammar, parsed in one place for the archiver, validator and runner.

A handler reference is what users pass to ``--handler`` and what the manifest stores:

* a built-in name (``image_classifier``), resolved inside TorchServe's ``ts.torch_handler``;
* a module file, with or without ``.py`` and with or without directories (``dir/handler``);
* either of those followed by ``:function`` (``handler:my_fn``, ``dir/handler.py:my_fn``).

TorchServe's backend imports the module named by the part before the first ``:``, with a
trailing ``.py`` removed and only the last ``/`` segment kept; the function defaults to
``handle``. Upstream's archiver copies ``x.py:fn`` literally and crashes; we copy ``x.py``.
"""

from __future__ import annotations

import posixpath
from typing import Final

from mar_tools.core.record import record

#: Built-in handler names that upstream's archiver does not copy (python/python3 runtimes).
BUILTIN_PYTHON_HANDLERS: Final = frozenset(
    {
        "base_handler",
        "text_classifier",
        "image_classifier",
        "object_detector",
        "image_segmenter",
        "dali_image_classifier",
        "vllm_handler",
        "trt_llm_handler",
    }
)
#: Built-in handler names of the LSP (C++) runtime.
BUILTIN_LSP_HANDLERS: Final = frozenset({"BaseHandler", "TorchScriptHandler"})
#: Modules under ``ts.torch_handler`` that TorchServe's backend falls back to by name.
#: The archiver does not know the last three (it would try to copy them), the backend does.
BACKEND_FALLBACK_MODULES: Final = BUILTIN_PYTHON_HANDLERS | {
    "vision_handler",
    "text_handler",
    "densenet_handler",
}
DEFAULT_FUNCTION: Final = "handle"


@record
class HandlerRef:
    """A parsed handler reference. ``text`` is kept exactly as typed."""

    text: str
    path_part: str
    function: str | None

    @classmethod
    def parse(cls, text: str) -> HandlerRef:
        """Split *text* at its first ``:`` into a path part and an optional function name."""
        path_part, sep, function = text.partition(":")
        return cls(text=text, path_part=path_part, function=function if sep else None)

    @property
    def module_name(self) -> str:
        """The module TorchServe imports: last ``/`` segment, trailing ``.py`` removed."""
        last = self.path_part.rsplit("/", 1)[-1]
        return last[: -len(".py")] if last.endswith(".py") else last

    @property
    def function_name(self) -> str:
        """The entry-point function looked up in the module (``handle`` by default)."""
        return self.function or DEFAULT_FUNCTION

    @property
    def manifest_value(self) -> str:
        """What upstream stores in ``model.handler``: the basename of the whole string."""
        return posixpath.basename(self.text)

    def is_builtin(self, runtime: str = "python") -> bool:
        """True when the archiver must not copy a file for this handler."""
        if runtime == "LSP":
            return self.path_part in BUILTIN_LSP_HANDLERS
        return self.text in BUILTIN_PYTHON_HANDLERS

    def source_path(self, runtime: str = "python", platform: str = "linux") -> str:
        """The file to copy into the archive, relative to the current directory.

        Python runtimes: the path part, with ``.py`` appended when missing. LSP: the path
        part plus the shared-library suffix (``.so`` / ``.dylib``) unless already present.
        """
        if runtime == "LSP":
            suffix = ".dylib" if platform == "darwin" else ".so"
            if platform not in ("linux", "darwin") or self.path_part.endswith(suffix):
                return self.path_part
            return self.path_part + suffix
        return self.path_part if self.path_part.endswith(".py") else self.path_part + ".py"

    def archive_name(self, runtime: str = "python", platform: str = "linux") -> str:
        """The member name of the handler file at the archive root."""
        return posixpath.basename(self.source_path(runtime, platform))


def model_module_name(model_file: str) -> str:
    """The module BaseHandler imports for an eager model file (``modelFile.split('.')[0]``)."""
    return model_file.split(".")[0]
