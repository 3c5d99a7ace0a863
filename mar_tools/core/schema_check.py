"""A fast, conservative JSON Schema check: "certainly valid", or "ask jsonschema".

Importing jsonschema costs more than the rest of ``mar validate`` on a small archive (it is
most of the start-up that issue 15 measures). Most manifests and model configs are valid,
so this module answers the common case alone: :func:`certainly_valid` walks the schema with
the instance, understanding only the keywords our schemas use (``type`` with strict
integers, ``required``, ``properties``, ``additionalProperties``, ``items``, ``enum`` of
strings, ``pattern``, ``minLength``, ``minimum``, ``maximum``, ``allOf``, local ``$ref``
into ``$defs``, and annotations). It returns True only when every
keyword it met holds; on the first violation or the first keyword it does not know it
returns False, and the caller runs the full validator, which finds and words every
violation. So the answer never differs from jsonschema's; only its cost does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

#: Keywords that never constrain an instance.
ANNOTATIONS: Final = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "title",
        "description",
        "default",
        "examples",
        "x-mar-code",
    }
)

_TYPES: Final[dict[str, Any]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    # Strict integers, as our validators (mar_tools.core.schema): not 1.0, not true.
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
}


def certainly_valid(
    schema: Mapping[str, Any], instance: object, root: Mapping[str, Any] | None = None
) -> bool:
    """True when *instance* is valid against *schema* as far as the known keywords decide,
    and no other keyword is present on the way; False otherwise (see the module docstring).
    *root* is the document ``$ref`` pointers resolve in (default: *schema*)."""
    walk = _Walk(root if root is not None else schema)
    return walk.valid(schema, instance)


class _Walk:
    """One check: the root schema, for ``$ref``."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def valid(self, schema: object, instance: object) -> bool:
        if not isinstance(schema, Mapping):
            return False
        for keyword, value in schema.items():
            if keyword in ANNOTATIONS:
                continue
            check = _KEYWORDS.get(keyword)
            if check is None or not check(self, value, instance, schema):
                return False
        return True


def _type(_walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    names = value if isinstance(value, list) else [value]
    checks = [_TYPES.get(str(name)) for name in names]
    return all(check is not None for check in checks) and any(
        check(instance) for check in checks if check is not None
    )


def _required(_walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(instance, dict):
        return True
    return isinstance(value, list) and all(key in instance for key in value)


def _properties(walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(value, Mapping):
        return False
    if not isinstance(instance, dict):
        return True
    return all(walk.valid(sub, instance[key]) for key, sub in value.items() if key in instance)


def _additional_properties(
    walk: _Walk, value: object, instance: object, schema: Mapping[str, Any]
) -> bool:
    if value is True:
        return True
    if "patternProperties" in schema or not isinstance(instance, dict):
        return "patternProperties" not in schema
    known = schema.get("properties", {})
    extra = [key for key in instance if key not in known]
    if value is False:
        return not extra
    return all(walk.valid(value, instance[key]) for key in extra)


def _items(walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(instance, list):
        return True
    return all(walk.valid(value, item) for item in instance)


def _is_number(instance: object) -> bool:
    return isinstance(instance, (int, float)) and not isinstance(instance, bool)


def _minimum(_walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not _is_number(instance):
        return True
    return _is_number(value) and instance >= value  # type: ignore[operator]


def _maximum(_walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not _is_number(instance):
        return True
    return _is_number(value) and instance <= value  # type: ignore[operator]


def _ref(walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(value, str) or not value.startswith("#/$defs/"):
        return False  # only local definitions are followed here
    target = walk.root.get("$defs", {}).get(value.removeprefix("#/$defs/"))
    return target is not None and walk.valid(target, instance)


def _enum(_walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    # Only strings are compared here: JSON equality of numbers and booleans differs from
    # Python's (1 == True), so other enums go to the full validator.
    return (
        isinstance(value, list)
        and isinstance(instance, str)
        and all(isinstance(item, str) for item in value)
        and instance in value
    )


def _pattern(_walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(instance, str):
        return True
    return isinstance(value, str) and re.search(value, instance) is not None


def _min_length(_walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(instance, str):
        return True
    return isinstance(value, int) and len(instance) >= value


def _all_of(walk: _Walk, value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    return isinstance(value, list) and all(walk.valid(sub, instance) for sub in value)


_KEYWORDS: Final[dict[str, Any]] = {
    "type": _type,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "enum": _enum,
    "pattern": _pattern,
    "minLength": _min_length,
    "minimum": _minimum,
    "maximum": _maximum,
    "items": _items,
    "$ref": _ref,
    "allOf": _all_of,
}
