"""A fast, conservative JSON Schema check: "certainly valid", or "ask jsonschema".

Importing jsonschema costs more than the rest of ``mar validate`` on a small archive (it is
most of the start-up that issue 15 measures). Most manifests are valid, so this module
answers the common case alone: :func:`certainly_valid` walks the schema with the instance,
understanding only the keywords our schemas use for the manifest (``type`` with strict
integers, ``required``, ``properties``, ``additionalProperties: true``, ``enum``,
``pattern``, ``minLength``, ``allOf``, and annotations). It returns True only when every
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
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "x-mar-code"}
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


def certainly_valid(schema: Mapping[str, Any], instance: object) -> bool:
    """True when *instance* is valid against *schema* as far as the known keywords decide,
    and no other keyword is present on the way; False otherwise (see the module docstring)."""
    for keyword, value in schema.items():
        if keyword in ANNOTATIONS:
            continue
        check = _KEYWORDS.get(keyword)
        if check is None or not check(value, instance, schema):
            return False
    return True


def _type(value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    names = value if isinstance(value, list) else [value]
    checks = [_TYPES.get(str(name)) for name in names]
    return all(check is not None for check in checks) and any(
        check(instance) for check in checks if check is not None
    )


def _required(value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(instance, dict):
        return True
    return isinstance(value, list) and all(key in instance for key in value)


def _properties(value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(value, Mapping):
        return False
    if not isinstance(instance, dict):
        return True
    return all(
        isinstance(sub, Mapping) and certainly_valid(sub, instance[key])
        for key, sub in value.items()
        if key in instance
    )


def _additional_properties(value: object, _instance: object, _schema: Mapping[str, Any]) -> bool:
    return value is True  # anything else: the full validator decides


def _enum(value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    # Only strings are compared here: JSON equality of numbers and booleans differs from
    # Python's (1 == True), so other enums go to the full validator.
    return (
        isinstance(value, list)
        and isinstance(instance, str)
        and all(isinstance(item, str) for item in value)
        and instance in value
    )


def _pattern(value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(instance, str):
        return True
    return isinstance(value, str) and re.search(value, instance) is not None


def _min_length(value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    if not isinstance(instance, str):
        return True
    return isinstance(value, int) and len(instance) >= value


def _all_of(value: object, instance: object, _schema: Mapping[str, Any]) -> bool:
    return isinstance(value, list) and all(
        isinstance(sub, Mapping) and certainly_valid(sub, instance) for sub in value
    )


_KEYWORDS: Final = {
    "type": _type,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "enum": _enum,
    "pattern": _pattern,
    "minLength": _min_length,
    "allOf": _all_of,
}
