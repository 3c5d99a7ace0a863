"""Immutable value records for the modules on a command's start-up path.

``@record`` declares a class the way ``@dataclass(frozen=True)`` does (same annotations,
defaults and :func:`field`), and type checkers read it as one (:pep:`681`). What it does
not pay is the standard library's cost: importing :mod:`dataclasses` pulls in
:mod:`inspect` and its dependencies, and each class takes about 0.7 ms to build, which
together was a third of ``mar validate``'s start-up on a small archive. Here a class
costs one small compiled ``__init__``; equality, hashing and ``repr`` are shared
functions over the field values, and the ``__init__`` is compiled when the first
instance is made.

What a record gives: an ``__init__`` taking the fields in order (positionally or by
name), defaults and ``default_factory``, ``__eq__`` and ``__hash__`` over the compared
fields (two records are equal only when they are of the same class), a dataclass-like
``repr``, ``__match_args__``, and, unless ``frozen=False``, a :class:`FrozenRecordError`
on assignment. :func:`replace` copies one with some fields changed; :func:`fields`
names them. Inheritance from another record appends the subclass's fields. Not
supported, on purpose: ``__post_init__``, ``InitVar``, ordering, keyword-only fields
and ``__slots__``.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_options: object) -> Callable[[object], object]:
        """At run time the marker does nothing: it only informs type checkers."""
        return lambda decorated: decorated


_T = TypeVar("_T")
_C = TypeVar("_C", bound=type)

#: The attribute a record class keeps its field table in.
_FIELDS = "__record_fields__"


class FrozenRecordError(AttributeError):
    """An assignment to (or deletion of) a field of a frozen record."""


class _Missing:
    """The marker for "no default"."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One field's declaration: its default (or factory) and whether it is compared and
    shown. Created by :func:`field`; the decorator fills in ``name``."""

    __slots__ = ("compare", "default", "default_factory", "name", "repr")

    def __init__(
        self,
        default: object,
        default_factory: Callable[[], object] | None,
        compare: bool,
        repr: bool,
    ) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr

    def named(self, name: str) -> Field:
        """A copy of this declaration bound to *name*."""
        copy = Field(self.default, self.default_factory, self.compare, self.repr)
        copy.name = name
        return copy


@overload
def field(*, default: _T, compare: bool = ..., repr: bool = ...) -> _T: ...
@overload
def field(*, default_factory: Callable[[], _T], compare: bool = ..., repr: bool = ...) -> _T: ...
@overload
def field(*, compare: bool = ..., repr: bool = ...) -> Any: ...
def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | None = None,
    compare: bool = True,
    repr: bool = True,
) -> Any:
    """A field with more than a plain default: a factory for mutable defaults, or left
    out of comparison (``compare=False``) or of the ``repr`` (``repr=False``)."""
    if default is not MISSING and default_factory is not None:
        raise ValueError("a field cannot have both a default and a default_factory")
    return Field(default, default_factory, compare, repr)


@overload
def record(cls: _C, /) -> _C: ...
@overload
def record(*, frozen: bool = ..., eq: bool = ...) -> Callable[[_C], _C]: ...
@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: Any = None, /, *, frozen: bool = True, eq: bool = True) -> Any:
    """Make *cls* a record (see the module's text). ``frozen=False`` allows assignment
    (and makes the record unhashable when it is compared, as ``dataclass`` does);
    ``eq=False`` keeps identity comparison."""

    def build(target: type) -> type:
        return _build(target, frozen=frozen, eq=eq)

    return build if cls is None else build(cls)


def fields(instance_or_class: object) -> tuple[Field, ...]:
    """The fields of a record (class or instance), in ``__init__`` order."""
    table = getattr(instance_or_class, _FIELDS, None)
    if table is None:
        raise TypeError(f"{instance_or_class!r} is not a record")
    return tuple(table)


def replace(instance: _T, /, **changes: Any) -> _T:
    """A copy of the record *instance* with *changes* applied to its fields."""
    table: tuple[Field, ...] = fields(instance)
    names = {item.name for item in table}
    unknown = sorted(set(changes) - names)
    if unknown:
        raise TypeError(f"{type(instance).__name__} has no field {unknown[0]!r}")
    values = {
        item.name: changes[item.name] if item.name in changes else getattr(instance, item.name)
        for item in table
    }
    return type(instance)(**values)


def _is_class_variable(annotation: object) -> bool:
    """Whether an annotation (a string under postponed evaluation) declares a class
    variable rather than a field."""
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def _declared(cls: type) -> list[Field]:
    """The fields *cls* itself declares, with their defaults taken off the class."""
    declared: list[Field] = []
    # Not inspect.get_annotations: importing inspect is what this module avoids.
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    for name, annotation in annotations.items():
        if _is_class_variable(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        if isinstance(value, Field):
            item = value.named(name)
        else:
            item = Field(value, None, True, True).named(name)
        if name in cls.__dict__:
            if item.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, item.default)
        declared.append(item)
    return declared


def _all_fields(cls: type) -> list[Field]:
    """The inherited fields (in base order) followed by *cls*'s own, a redeclared name
    keeping its first position."""
    merged: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for item in base.__dict__.get(_FIELDS, ()):
            merged[item.name] = item
    for item in _declared(cls):
        merged[item.name] = item
    table = list(merged.values())
    seen_default = False
    for item in table:
        has_default = item.default is not MISSING or item.default_factory is not None
        if seen_default and not has_default:
            raise TypeError(f"non-default field {item.name!r} follows a default field")
        seen_default = seen_default or has_default
    return table


def _init_source(table: list[Field], frozen: bool) -> tuple[str, dict[str, object]]:
    """The text of the ``__init__`` for *table*, and the names it refers to."""
    namespace: dict[str, object] = {"_MISSING": MISSING, "_set": object.__setattr__}
    parameters = ["self"]
    body: list[str] = []
    for item in table:
        name = item.name
        if item.default_factory is not None:
            namespace[f"_factory_{name}"] = item.default_factory
            parameters.append(f"{name}=_MISSING")
            body.append(f"  if {name} is _MISSING: {name} = _factory_{name}()")
        elif item.default is not MISSING:
            namespace[f"_default_{name}"] = item.default
            parameters.append(f"{name}=_default_{name}")
        else:
            parameters.append(name)
        body.append(f"  _set(self, {name!r}, {name})" if frozen else f"  self.{name} = {name}")
    body.append("  return None")
    return f"def __init__({', '.join(parameters)}):\n" + "\n".join(body) + "\n", namespace


def _frozen_setattr(_self: object, name: str, _value: object) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen record")


def _frozen_delattr(_self: object, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r} of a frozen record")


def _record_repr(self: object) -> str:
    shown = ", ".join(
        f"{item.name}={getattr(self, item.name)!r}" for item in getattr(self, _FIELDS) if item.repr
    )
    return f"{type(self).__qualname__}({shown})"


def _compiled_init(cls: type, table: list[Field], frozen: bool) -> Any:
    """The ``__init__`` of record class *cls*, compiled from :func:`_init_source`."""
    source, namespace = _init_source(table, frozen)
    exec(source, namespace)
    initialiser: Any = namespace["__init__"]
    initialiser.__qualname__ = f"{cls.__qualname__}.__init__"
    initialiser.__module__ = cls.__module__
    return initialiser


def _first_init(cls: type, table: list[Field], frozen: bool) -> Any:
    """An ``__init__`` that compiles *cls*'s own on its first call, puts it on the class
    and runs it: compiling takes about 0.15 ms a class, which a process that never makes
    an instance of it (most of the records a command imports) does not pay."""

    def __init__(self: object, *args: object, **kwargs: object) -> None:
        initialiser = _compiled_init(cls, table, frozen)
        setattr(cls, "__init__", initialiser)  # noqa: B010
        initialiser(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    return __init__


def _build(cls: type, *, frozen: bool, eq: bool) -> type:
    table = _all_fields(cls)
    members: dict[str, object] = {
        "__init__": _first_init(cls, table, frozen),
        _FIELDS: tuple(table),
        "__match_args__": tuple(item.name for item in table),
    }
    if "__repr__" not in cls.__dict__:
        members["__repr__"] = _record_repr
    if frozen:
        members["__setattr__"] = _frozen_setattr
        members["__delattr__"] = _frozen_delattr
    if eq:
        members.update(_equality(cls, table, hashable=frozen))
    for name, value in members.items():
        setattr(cls, name, value)
    return cls


def _equality(cls: type, table: list[Field], *, hashable: bool) -> dict[str, object]:
    """``__eq__`` and ``__hash__`` over the compared fields, where *cls* does not define
    its own (``__hash__`` is None for a mutable record, as for a mutable dataclass)."""
    compared = [item.name for item in table if item.compare]
    getter = attrgetter(*compared) if compared else None

    def key(instance: object) -> tuple[object, ...]:
        if getter is None:
            return ()
        values = getter(instance)
        return values if len(compared) > 1 else (values,)

    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return key(self) == key(other)

    def __hash__(self: object) -> int:
        return hash(key(self))

    members: dict[str, object] = {}
    if "__eq__" not in cls.__dict__:
        members["__eq__"] = __eq__
    if cls.__dict__.get("__hash__") is None:
        members["__hash__"] = __hash__ if hashable else None
    return members
