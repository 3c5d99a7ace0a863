"""The docs and the schemas stay in step with the catalog of checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mar_tools.core.schema import FILES, SchemaName, load_schema, schema_dir
from mar_tools.validate import CATALOG

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "validate.md"


def test_every_code_is_documented_with_its_severity() -> None:
    text = DOCS.read_text()
    for info in CATALOG:
        match = re.search(rf"^#### `{re.escape(info.code)}`\n\*\*(\w+)", text, re.MULTILINE)
        assert match, info.code
        assert match.group(1) == info.severity.value, info.code


def test_documented_codes_all_exist() -> None:
    documented = re.findall(r"^#### `([a-z0-9.-]+)`", DOCS.read_text(), re.MULTILINE)
    assert documented == [info.code for info in CATALOG]


def test_schemas_come_from_the_repository_in_a_checkout() -> None:
    assert schema_dir() == ROOT / "schemas"
    assert sorted(path.name for path in schema_dir().glob("*.json")) == sorted(FILES.values())


def described(node: Any, where: str) -> list[str]:
    """Pointers of property schemas lacking a title or a description.

    A bare ``$ref`` inherits its target's; ``allOf`` blocks only restate constraints.
    """
    missing: list[str] = []
    if isinstance(node, dict):
        for name, child in node.get("properties", {}).items():
            bare_ref = set(child) == {"$ref"}
            if not bare_ref and not {"title", "description"} <= child.keys():
                missing.append(f"{where}/properties/{name}")
            missing += described(child, f"{where}/properties/{name}")
        for name, child in node.get("$defs", {}).items():
            missing += described(child, f"{where}/$defs/{name}")
    return missing


@pytest.mark.parametrize("name", sorted(FILES))
def test_schemas_are_2020_12_with_id_titles_and_descriptions(name: SchemaName) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(FILES[name])
    assert schema["title"] and schema["description"]
    assert described(schema, "") == []
