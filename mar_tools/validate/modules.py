"""Which Python module an ``import name`` finds at the archive root.

TorchServe puts the model directory first on ``sys.path``; there, Python's path finder
looks for, in order: a package directory with ``__init__.py``, an extension module
(``name.*.so``), a source file ``name.py``, a bytecode file ``name.pyc``, and finally a
directory without ``__init__.py`` (a namespace package).
"""

from __future__ import annotations

from typing import Literal

from mar_tools.core.archive import Member
from mar_tools.core.record import record
from mar_tools.validate.subject import Subject

ModuleKind = Literal["package", "extension", "source", "bytecode", "namespace"]
EXTENSION_SUFFIXES = (".so", ".pyd")


@record
class FoundModule:
    """A module found in the archive; ``member`` is the file to read for source kinds."""

    name: str
    kind: ModuleKind
    member: Member | None


def find_module(subject: Subject, name: str, base: str = "") -> FoundModule | None:
    """The module *name* (one dotted component) found under directory *base*, or None."""
    prefix = f"{base}/" if base else ""
    package = subject.find(f"{prefix}{name}/__init__.py")
    if package is not None:
        return FoundModule(name, "package", package)
    for base_name in subject.files_in(base):
        stem, _, rest = base_name.partition(".")
        if stem == name and rest and base_name.endswith(EXTENSION_SUFFIXES):
            return FoundModule(name, "extension", None)
    source = subject.find(f"{prefix}{name}.py")
    if source is not None:
        return FoundModule(name, "source", source)
    if subject.find(f"{prefix}{name}.pyc") is not None:
        return FoundModule(name, "bytecode", None)
    if subject.has_dir(f"{prefix}{name}"):
        return FoundModule(name, "namespace", None)
    return None


def resolve_dotted(subject: Subject, dotted: str) -> list[FoundModule] | None:
    """Find each component of *dotted* (``a.b.c``) below the archive root; None if one is missing.

    Components after a non-package module are attributes, not modules, and are not checked.
    """
    found: list[FoundModule] = []
    base = ""
    for part in dotted.split("."):
        module = find_module(subject, part, base)
        if module is None:
            return None
        found.append(module)
        if module.kind not in ("package", "namespace"):
            break
        base = f"{base}/{part}" if base else part
    return found


def import_module(subject: Subject, dotted: str) -> FoundModule | None:
    """The module ``importlib.import_module(dotted)`` finds in the archive, or None (every
    component but the last must then be a package)."""
    found = resolve_dotted(subject, dotted)
    if found is None or len(found) != dotted.count(".") + 1:
        return None
    return found[-1]
