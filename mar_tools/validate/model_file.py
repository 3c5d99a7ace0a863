"""The eager model file (``modelFile``), checked by BaseHandler's loading rule.

BaseHandler.initialize imports ``modelFile.split(".")[0]`` from the model directory and
requires that module to define exactly one class, which it builds with no arguments. The
rule is only certain to apply when the handler is a built-in one or a class that inherits
``initialize``; otherwise a class-count problem is a warning.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from mar_tools.core.handler_ref import BACKEND_FALLBACK_MODULES, model_module_name
from mar_tools.report.finding import Finding, Severity
from mar_tools.validate.catalog import finding
from mar_tools.validate.handler import handler_module
from mar_tools.validate.subject import Subject


def check_model_file(subject: Subject) -> Iterator[Finding]:
    """Findings for a model file BaseHandler would fail to import or instantiate."""
    manifest = subject.manifest
    model_file = manifest.model.model_file if manifest else None
    if not model_file:
        return
    if not model_file.endswith(".py"):
        yield finding("model.not-python", f"modelFile {model_file!r} is not a .py file.")
        return
    module = model_module_name(model_file)
    if not module.isidentifier() or f"{module}.py" != posixpath.basename(model_file):
        yield finding(
            "model.module-name",
            f"modelFile {model_file!r}: BaseHandler imports the module {module!r}, which is "
            "not this file.",
        )
    member = subject.find(posixpath.normpath(model_file))
    if member is None:
        return
    source = subject.source(member)
    if source is None:
        return
    if source.problem is not None:
        yield finding(
            "model.syntax-error",
            f"{source.problem.message}.",
            member.name,
            line=source.problem.line,
            column=source.problem.column,
        )
        return
    classes = source.classes
    if len(classes) != 1:
        listed = ", ".join(c.name for c in classes) or "none"
        yield finding(
            "model.class-count",
            f"{member.name} defines {len(classes)} classes ({listed}); BaseHandler fails with "
            "'Expected only one class as model definition'.",
            member.name,
            line=classes[1].line if len(classes) > 1 else None,
            severity=None if _uses_base_initialize(subject) else Severity.WARNING,
        )
        return
    cls = classes[0]
    if not cls.inherits:
        yield finding(
            "model.not-nn-module",
            f"class {cls.name} does not derive from torch.nn.Module.",
            member.name,
            line=cls.line,
        )


def _uses_base_initialize(subject: Subject) -> bool:
    """True when the handler certainly loads the model with BaseHandler.initialize."""
    located = handler_module(subject)
    if located is None:
        return False
    ref, found = located
    if found is None:
        return ref.text in BACKEND_FALLBACK_MODULES
    if found.member is None:
        return False
    source = subject.source(found.member)
    if source is None or source.problem is not None or ref.function_name in source.bindings:
        return False
    if len(source.classes) != 1:
        return False
    cls = source.classes[0]
    return cls.inherits and "initialize" not in cls.methods
