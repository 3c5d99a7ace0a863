"""The JSON Schemas mar-tools ships, and validators built from them.

The schemas live in the repository's ``schemas/`` directory and are installed inside the
wheel as ``mar_tools/schemas``; :func:`schema_path` finds them either way. Validators are
JSON Schema 2020-12 with one deliberate difference: ``integer`` means a real integer (not
``1.0``, not ``true``), because TorchServe's frontend reads YAML with Java's strict types.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:  # jsonschema is imported only when a validator is built (it is slow).
    from jsonschema.protocols import Validator

SchemaName = Literal["manifest", "model-config", "validate-report", "inspect", "diff"]
FILES: Final[dict[SchemaName, str]] = {
    "manifest": "manifest.schema.json",
    "model-config": "model-config.schema.json",
    "validate-report": "validate-report.schema.json",
    "inspect": "inspect.schema.json",
    "diff": "diff.schema.json",
}


def schema_dir() -> Path:
    """The directory holding the schemas: inside the installed package, else the repo's."""
    package = Path(__file__).resolve().parents[1]  # mar_tools/
    packaged = package / "schemas"
    if packaged.is_dir():
        return packaged
    return package.parent / "schemas"


def schema_path(name: SchemaName) -> Path:
    """The file of schema *name*."""
    return schema_dir() / FILES[name]


@functools.cache
def load_schema(name: SchemaName) -> dict[str, Any]:
    """The parsed schema *name* (cached; do not mutate)."""
    with open(schema_path(name), encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@functools.cache
def validator(name: SchemaName) -> Validator:
    """A 2020-12 validator for schema *name* with strict integers (see the module doc)."""
    from jsonschema import Draft202012Validator, validators

    def is_integer(_checker: object, instance: object) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", is_integer)
    strict = validators.extend(Draft202012Validator, type_checker=checker)  # type: ignore[no-untyped-call]
    built: Validator = strict(load_schema(name))
    return built
