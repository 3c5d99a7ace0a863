"""Which code TorchServe 0.12 will call for a model, told from the archive's files alone.

The handler: TorchServe imports the module the reference names (part before ``:``, minus
``.py``, last ``/`` segment) from the model directory, else ``ts.torch_handler.<name>``.
In that module, an attribute named by the ``:function`` suffix (default ``handle``) is
the entry point; without one, the module's only class is built and its ``handle`` called.
The eager model file: BaseHandler imports ``modelFile`` minus its extension and builds
its only class. Files are read with :mod:`ast` (never imported).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Final, Literal

from mar_tools.core.archive import ArchiveView
from mar_tools.core.handler_ref import BACKEND_FALLBACK_MODULES, HandlerRef, model_module_name
from mar_tools.core.manifest import Manifest
from mar_tools.core.model_source import TEXT_LIMIT
from mar_tools.core.python_source import SourceModule, parse_source

EntryKind = Literal["builtin", "function", "class", "lsp", "unresolved"]
BUILTIN_PACKAGE: Final = "ts.torch_handler"


@dataclass(frozen=True)
class HandlerEntry:
    """How the handler resolves: ``kind``, the ``module`` imported, the ``file`` in the
    archive (None for built-ins), the function or class ``name``, and a ``note`` saying
    why it is unresolved (or what is uncertain)."""

    reference: str
    kind: EntryKind
    module: str | None = None
    file: str | None = None
    name: str | None = None
    note: str | None = None

    def describe(self) -> str:
        """One line: ``handler.py: function handle``, ``ts.torch_handler.x (built-in)``..."""
        if self.kind == "builtin":
            return f"{self.module} (built-in)"
        if self.kind in ("function", "class"):
            return f"{self.file}: {self.kind} {self.name}"
        if self.kind == "lsp":
            return f"{self.reference} (C++ backend, not inspected)"
        return f"unresolved: {self.note}"


@dataclass(frozen=True)
class ModelClass:
    """The eager model file and the classes it defines (BaseHandler needs exactly one)."""

    file: str
    classes: tuple[str, ...]
    note: str | None = None

    @property
    def name(self) -> str | None:
        return self.classes[0] if len(self.classes) == 1 else None

    def describe(self) -> str:
        if self.note:
            return f"{self.file}: {self.note}"
        if self.name:
            return f"{self.file}: class {self.name}"
        listed = ", ".join(self.classes)
        return f"{self.file}: {len(self.classes)} classes ({listed}); BaseHandler needs one"


def resolve_handler(view: ArchiveView, manifest: Manifest) -> HandlerEntry:
    """The handler entry point of *manifest* in *view* (see the module docstring)."""
    text = manifest.model.handler
    if manifest.runtime == "LSP":
        return HandlerEntry(text, "lsp")
    ref = HandlerRef.parse(text)
    module = ref.module_name
    file = _module_file(view, module)
    if file is None:
        if ref.text in BACKEND_FALLBACK_MODULES:
            return HandlerEntry(text, "builtin", f"{BUILTIN_PACKAGE}.{ref.text}")
        note = f"no {module}.py in the archive and no built-in handler {ref.text!r}"
        return HandlerEntry(text, "unresolved", module, note=note)
    source = _parse(view, file)
    if source.tree is None:
        reason = source.problem.message if source.problem else "cannot be read"
        return HandlerEntry(text, "unresolved", module, file, note=f"{file}: {reason}")
    function = ref.function_name
    binding = source.bindings.get(function)
    if binding is not None:
        return HandlerEntry(text, "function", module, file, function)
    if source.star_import:
        note = f"{file} has no {function!r} of its own but imports * (it may come from there)"
        return HandlerEntry(text, "unresolved", module, file, note=note)
    if len(source.classes) == 1:
        return HandlerEntry(text, "class", module, file, source.classes[0].name)
    found = ", ".join(cls.name for cls in source.classes) or "none"
    note = f"{file} has no {function!r} and not exactly one class (classes: {found})"
    return HandlerEntry(text, "unresolved", module, file, note=note)


def model_class(view: ArchiveView, model_file: str) -> ModelClass:
    """The classes of the eager *model_file* (the one BaseHandler will build)."""
    name = posixpath.normpath(model_file)
    module = model_module_name(posixpath.basename(name))
    if view.find(name) is None:
        return ModelClass(model_file, (), "not in the archive")
    if not name.endswith(".py"):
        return ModelClass(model_file, (), "not a Python file")
    source = _parse(view, name)
    if source.tree is None:
        reason = source.problem.message if source.problem else "cannot be read"
        return ModelClass(model_file, (), reason)
    classes = tuple(cls.name for cls in source.classes)
    note = None if classes else f"defines no class (BaseHandler imports {module!r})"
    return ModelClass(model_file, classes, note)


def _module_file(view: ArchiveView, module: str) -> str | None:
    """The file ``import module`` finds at the archive root: a package or a source file."""
    path = module.replace(".", "/")
    for candidate in (f"{path}/__init__.py", f"{path}.py"):
        if view.find(candidate) is not None:
            return candidate
    return None


def _parse(view: ArchiveView, name: str) -> SourceModule:
    member = view.find(name)
    if member is None or member.size > TEXT_LIMIT:
        return SourceModule(name, None)
    data = view.read(member, TEXT_LIMIT)
    return parse_source(name, data)
