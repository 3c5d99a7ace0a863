"""The classes an archive's own Python files define: what its pickles may rebuild.

``torch.save(model)`` pickles the model's class by module and name (``model.Net``), and
loading the pickle imports that module from the model directory: the archive's own code,
which the handler runs anyway. So a pickle may build (``NEWOBJ``/``BUILD``) and call
(``REDUCE``) a class that a Python file of the archive defines at module level (read with
:mod:`ast`, never imported), under the module name ``import`` finds it by.

Not trusted: modules named like the standard library or like packages the TorchServe
worker imports before the handler (``torch``, ``ts``, ``numpy``...): at load time those
names resolve to the installed modules, not to the archive's files.
"""

from __future__ import annotations

import sys
from typing import Final

from mar_tools.validate.imports import SERVER_MODULES
from mar_tools.validate.modules import import_module
from mar_tools.validate.pickle.policy import Trust
from mar_tools.validate.subject import Subject

#: Top-level names that resolve to something other than the archive's files.
SHADOWED: Final = frozenset(sys.stdlib_module_names) | SERVER_MODULES | {"numpy", "__main__"}


def archive_trust(subject: Subject) -> Trust:
    """A :class:`Trust` accepting the classes of *subject*'s Python files (parsed lazily,
    only for the modules a pickle names)."""
    known: dict[str, frozenset[str]] = {}

    def archive_class(module: str, name: str) -> bool:
        if module not in known:
            known[module] = classes_of(subject, module)
        return name in known[module]

    return Trust(archive_class=archive_class)


def classes_of(subject: Subject, module: str) -> frozenset[str]:
    """Names of the module-level classes of the archive's module *module* (dotted), or
    nothing when the archive has no such source module or the name is shadowed."""
    parts = module.split(".")
    if parts[0] in SHADOWED or not all(part.isidentifier() for part in parts):
        return frozenset()
    found = import_module(subject, module)
    if found is None or found.member is None or found.kind not in ("source", "package"):
        return frozenset()
    source = subject.source(found.member)
    if source is None or source.problem is not None:
        return frozenset()
    return frozenset(info.name for info in source.classes)
