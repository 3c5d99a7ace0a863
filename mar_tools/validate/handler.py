"""The handler, checked statically by TorchServe 0.12's loading rules.

TorchServe imports the module named by the handler (part before ``:``, minus ``.py``, last
``/`` segment) from the model directory, falling back to ``ts.torch_handler.<handler>``.
Then: if the module has an attribute named by the ``:function`` suffix (default
``handle``), that is the entry point, called as ``fn(None, context)`` once and
``fn(data, context)`` per batch. Otherwise the module must define exactly one class; it is
built with no arguments and its ``handle(data, context)`` is the entry point.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator

from mar_tools.core.handler_ref import BACKEND_FALLBACK_MODULES, HandlerRef
from mar_tools.core.python_source import ClassInfo, SourceModule
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.modules import FoundModule, import_module
from mar_tools.validate.subject import Subject

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
#: Names TorchServe's worker provides itself; a handler file with such a name is shadowed.
PROVIDED = frozenset({"ts", "torch"})


def handler_module(subject: Subject) -> tuple[HandlerRef, FoundModule | None] | None:
    """The parsed handler reference and the module it finds in the archive (Python runtimes).

    None when there is no manifest handler or the runtime is LSP (C++, not checked here).
    """
    manifest = subject.manifest
    if manifest is None or not manifest.model.handler or manifest.runtime == "LSP":
        return None
    ref = HandlerRef.parse(manifest.model.handler)
    return ref, import_module(subject, ref.module_name)


def check_handler(subject: Subject) -> Iterator[Finding]:
    """Findings for a handler TorchServe would fail to load or call."""
    located = handler_module(subject)
    if located is None:
        return
    ref, found = located
    if found is None:
        if ref.text not in BACKEND_FALLBACK_MODULES:
            yield finding("handler.not-found", _not_found(ref))
        return
    if ref.module_name in sys.stdlib_module_names or ref.module_name in PROVIDED:
        yield finding(
            "handler.shadows-module",
            f"handler module {ref.module_name!r} has the name of a module TorchServe's worker "
            "may already have imported.",
            found.member.name if found.member else None,
        )
    if found.member is None or found.kind not in ("source", "package"):
        return
    source = subject.source(found.member)
    if source is None:
        return
    if source.problem is not None:
        yield finding(
            "handler.syntax-error",
            f"{source.problem.message}.",
            source.member,
            line=source.problem.line,
            column=source.problem.column,
        )
        return
    yield from _entry_point(subject, ref, source)


def _not_found(ref: HandlerRef) -> str:
    if "." in ref.module_name:
        return (
            f"handler {ref.text!r}: TorchServe imports the module {ref.module_name!r}, which "
            f"means package {ref.module_name.rsplit('.', 1)[0]!r}; no such package is in the "
            "archive (a handler file name may contain no dot but the one of '.py')."
        )
    return (
        f"handler {ref.text!r}: no {ref.module_name}.py (or package) at the archive root, "
        "and it is not one of TorchServe's built-in handlers."
    )


def _entry_point(subject: Subject, ref: HandlerRef, source: SourceModule) -> Iterator[Finding]:
    member = source.member
    function = ref.function_name
    binding = source.bindings.get(function)
    if binding is not None:
        if isinstance(binding, FunctionNode):
            yield from _callable_checks(subject, member, binding, method=False)
        return
    if source.star_import:
        return  # ``from x import *`` may provide the function: nothing certain to say
    if ref.function is not None:
        yield finding(
            "handler.function-not-found",
            f"{member} defines no {function!r}; TorchServe then looks for a single class.",
            member,
        )
    classes = source.classes
    if not classes:
        yield finding(
            "handler.no-entry-point",
            f"{member} defines neither a module-level {function!r} nor a class.",
            member,
        )
    elif len(classes) > 1:
        listed = ", ".join(f"{c.name} (line {c.line})" for c in classes)
        yield finding(
            "handler.multiple-classes",
            f"{member} defines {len(classes)} classes: {listed}; TorchServe 0.12 fails with "
            "'Expected only one class in custom service code or a function entry point'.",
            member,
            line=classes[1].line,
        )
    else:
        yield from _class_checks(subject, member, classes[0])


def _class_checks(subject: Subject, member: str, cls: ClassInfo) -> Iterator[Finding]:
    handle = cls.methods.get("handle", False)
    if handle is False and not cls.inherits:
        yield finding(
            "handler.no-handle-method",
            f"class {cls.name} has no handle method and no base class to inherit one from.",
            member,
            line=cls.line,
        )
    if isinstance(handle, FunctionNode):
        yield from _callable_checks(subject, member, handle, method=True)
    init = cls.methods.get("__init__")
    if isinstance(init, FunctionNode) and _plain(init):
        needed = _required(init, method=True)
        if needed:
            yield finding(
                "handler.init-signature",
                f"{cls.name}.__init__ requires {', '.join(needed)}; TorchServe "
                "builds the class with no arguments.",
                member,
                line=init.lineno,
            )


def _callable_checks(
    subject: Subject, member: str, node: FunctionNode, *, method: bool
) -> Iterator[Finding]:
    wants_async = bool((subject.model_config or {}).get("asyncCommunication") is True)
    is_async = isinstance(node, ast.AsyncFunctionDef)
    if is_async != wants_async:
        state = "is a coroutine" if is_async else "is not a coroutine"
        setting = "true" if wants_async else "not true"
        yield finding(
            "handler.async-entry-point",
            f"{node.name} {state} but asyncCommunication is {setting}.",
            member,
            line=node.lineno,
        )
    if not _plain(node):
        return  # a decorator may change the signature
    static = any(_decorator(d) == "staticmethod" for d in node.decorator_list)
    problem = _two_positional(node, method=method and not static)
    if problem:
        yield finding(
            "handler.function-signature",
            f"{node.name} {problem}; TorchServe calls it with (data, context).",
            member,
            line=node.lineno,
        )


def _plain(node: FunctionNode) -> bool:
    """True when no decorator other than staticmethod/classmethod wraps *node*."""
    return all(_decorator(d) in ("staticmethod", "classmethod") for d in node.decorator_list)


def _decorator(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else ast.unparse(node)


def _positional(node: FunctionNode, *, method: bool) -> list[ast.arg]:
    args = [*node.args.posonlyargs, *node.args.args]
    return args[1:] if method else args


def _required(node: FunctionNode, *, method: bool) -> list[str]:
    """Names of parameters that have no default (so a call must pass them)."""
    positional = _positional(node, method=method)
    defaults = len(node.args.defaults)
    everything = [*node.args.posonlyargs, *node.args.args]
    first_default = len(everything) - defaults
    offset = 1 if method else 0
    needed = [a.arg for i, a in enumerate(positional, start=offset) if i < first_default]
    kw_defaults = node.args.kw_defaults
    needed += [a.arg for a, d in zip(node.args.kwonlyargs, kw_defaults, strict=True) if d is None]
    return needed


def _two_positional(node: FunctionNode, *, method: bool) -> str | None:
    """Why *node* cannot be called with two positional arguments, or None."""
    positional = _positional(node, method=method)
    if len(positional) < 2 and node.args.vararg is None:
        count = len(positional)
        return f"takes {count} positional parameter{'s' if count != 1 else ''}"
    needed = _required(node, method=method)
    if len(needed) > 2 or any(name in {a.arg for a in node.args.kwonlyargs} for name in needed):
        return f"requires {', '.join(needed)}"
    return None
