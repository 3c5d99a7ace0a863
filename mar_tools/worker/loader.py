"""Finds a handler's entry point by TorchServe 0.12's rules, with three fixes.

TorchServe imports the module named by the handler (part before ``:``, ``.py`` removed, last
``/`` segment), falling back to ``ts.torch_handler.<name>``; it uses the function named after
``:`` (default ``handle``), called once with ``(None, context)`` to initialize, or else the
module's only class, instantiated, with ``initialize(context)`` and ``handle(data, context)``.

Where TorchServe fails unhelpfully, this loader does better and says so in a warning:

* an ``ImportError`` raised *inside* the handler module (a missing dependency) is reported
  as itself, not hidden behind a fall-back to a built-in handler that does not exist;
* a module with several classes, exactly one of which has ``handle``, uses that one;
* ``module:Class`` instantiates the class (TorchServe would call ``Class(None, context)``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

DEFAULT_FUNCTION = "handle"


class HandlerError(Exception):
    """The handler reference cannot be turned into an entry point (a load failure)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class EntryPoint:
    """How to call the handler: ``initialize(context)`` once, then ``handle(data, context)``."""

    handle: Callable[[Any, Any], Any]
    initialize: Callable[[Any], Any]
    description: str
    warnings: list[str] = field(default_factory=list)


def split_handler(handler: str) -> tuple[str, str | None]:
    """``(module name, function or None)`` for a handler reference, by TorchServe's rule."""
    module_part, sep, function = handler.partition(":")
    if module_part.endswith(".py"):
        module_part = module_part[: -len(".py")]
    return module_part.split("/")[-1], (function if sep else None)


def import_handler_module(handler: str) -> tuple[ModuleType, str | None, list[str]]:
    """Import the handler's module (the model's own, else a ``ts.torch_handler`` built-in).

    Returns ``(module, function name or None, warnings)``. Raises :class:`HandlerError` when
    neither exists; any other exception raised while importing propagates unchanged.
    """
    module_name, function = split_handler(handler)
    if not module_name:
        raise HandlerError(f"handler {handler!r} names no module.")
    try:
        return importlib.import_module(module_name), function, []
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            # The handler module exists but imports something missing: show that error.
            raise
    builtin = f"ts.torch_handler.{module_name}"
    try:
        module = importlib.import_module(builtin)
    except ModuleNotFoundError as exc:
        if exc.name not in (builtin, module_name):
            raise
        raise HandlerError(
            f"handler module {module_name!r} is neither in the model directory nor a "
            "TorchServe built-in handler.",
            f"add {module_name}.py to the archive (torch-model-archiver --handler "
            f"{module_name}.py), or use a built-in name such as image_classifier.",
        ) from None
    return module, function, []


def classes_of(module: ModuleType) -> list[type]:
    """Classes defined in *module*, by the ``ts`` package's ``list_classes_from_module``
    (as TorchServe's loader finds handler and envelope classes)."""
    util = importlib.import_module("ts.utils.util")
    classes: list[type] = util.list_classes_from_module(module)
    return classes


def resolve_entry_point(handler: str) -> EntryPoint:
    """Import the handler and return its entry point (see the module docstring)."""
    module, function, warnings = import_handler_module(handler)
    name = function or DEFAULT_FUNCTION
    if hasattr(module, name):
        attribute = getattr(module, name)
        if function is not None and isinstance(attribute, type):
            warnings.append(
                f"handler {handler!r} names a class; TorchServe 0.12 does not support "
                f"'module:Class' (it would call {name}(None, context)). mar run instantiates "
                f"{name} and calls its initialize and handle methods."
            )
            return _class_entry(attribute, warnings)
        return EntryPoint(
            handle=attribute,
            initialize=lambda context: attribute(None, context),
            description=f"function {module.__name__}.{name}",
            warnings=warnings,
        )
    if function is not None:
        warnings.append(
            f"module {module.__name__} has no function {function!r}; like TorchServe 0.12, "
            "mar run falls back to the module's handler class."
        )
    classes = classes_of(module)
    if len(classes) == 1:
        return _class_entry(classes[0], warnings)
    with_handle = [cls for cls in classes if hasattr(cls, "handle")]
    if len(classes) > 1 and len(with_handle) == 1:
        chosen = with_handle[0]
        warnings.append(
            f"{module.__name__} defines {len(classes)} classes "
            f"({', '.join(c.__name__ for c in classes)}); TorchServe 0.12 refuses such a "
            f'module ("Expected only one class in custom service code or a function entry '
            f'point"). mar run uses {chosen.__name__}, the only one with a handle method.'
        )
        return _class_entry(chosen, warnings)
    raise HandlerError(
        f"Expected only one class in custom service code or a function entry point {classes}",
        f"define a function handle(data, context) in {module.__name__}, or exactly one "
        "class with initialize(context) and handle(data, context) methods (move helper "
        "classes to another module).",
    )


def _class_entry(cls: type, warnings: list[str]) -> EntryPoint:
    instance = cls()
    if not hasattr(instance, "handle"):
        raise HandlerError(
            f"Expect handle method in class {cls}",
            f"add a handle(self, data, context) method to {cls.__name__}.",
        )
    return EntryPoint(
        handle=instance.handle,
        initialize=instance.initialize,
        description=f"class {cls.__module__}.{cls.__qualname__}",
        warnings=warnings,
    )


def wrap_in_envelope(entry: EntryPoint, envelope: str) -> None:
    """Wrap ``entry.handle`` in ``ts.torch_handler.request_envelope.<envelope>``'s class.

    The first class defined in that module wraps the entry point; ``initialize`` is not
    wrapped (as in TorchServe).
    """
    module = importlib.import_module(f"ts.torch_handler.request_envelope.{envelope}")
    envelope_class: Any = classes_of(module)[0]
    entry.handle = envelope_class(entry.handle).handle
    entry.description += f" in the {envelope} envelope"
