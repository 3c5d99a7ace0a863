"""Turn JSON Schema violations into findings with codes, pointers and source lines.

A subschema may carry ``"x-mar-code": "<code>"``: a violation found at or below it gets
that code (the innermost such annotation wins). Other violations get a code chosen by
the failing keyword (``type`` → ``config.type``...) or the caller's default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mar_tools.core.schema import SchemaName, load_schema, validator
from mar_tools.core.schema_check import certainly_valid
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

#: Where a JSON pointer points in the source text: (line, column), 1-based, or None.
LineFinder = Callable[[str], tuple[int, int] | None]


def schema_findings(
    name: SchemaName,
    instance: object,
    member: str,
    *,
    default_code: str,
    keyword_codes: Mapping[str, str] | None = None,
    lines: LineFinder | None = None,
) -> Iterator[Finding]:
    """Validate *instance* against schema *name*; one finding per violation, in path order.

    A valid instance is usually recognised without jsonschema (:mod:`~mar_tools.core.schema_check`),
    which keeps ``mar validate``'s start-up small."""
    root = load_schema(name)
    if certainly_valid(root, instance):
        return
    checked = validator(name).iter_errors(instance)  # type: ignore[arg-type]
    errors = sorted(checked, key=lambda e: list(map(str, e.path)))
    for error in errors:
        code = _annotated_code(root, error) or (keyword_codes or {}).get(
            str(error.validator), default_code
        )
        pointer = json_pointer(error.absolute_path)
        position = lines(pointer) if lines else None
        yield finding(
            code,
            f"{_message(error, pointer)}.",
            member,
            line=position[0] if position else None,
            column=position[1] if position else None,
            pointer=pointer,
        )


def json_pointer(path: Sequence[Any]) -> str:
    """The RFC 6901 pointer for a path of keys and indexes (``""`` for the root)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _message(error: ValidationError, pointer: str) -> str:
    where = pointer or "the top level"
    if error.validator == "required" and isinstance(error.instance, Mapping):
        wanted = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [str(key) for key in wanted if key not in error.instance]
        return f"{where} lacks the key {', '.join(repr(k) for k in missing)}"
    text = error.message
    if error.validator == "additionalProperties":
        text = text.replace("Additional properties are not allowed", "unknown key(s)")
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{where}: {text}"


def _annotated_code(root: Mapping[str, Any], error: ValidationError) -> str | None:
    """The innermost ``x-mar-code`` on the schema path of *error*, following local $refs."""
    node: Any = root
    code = node.get("x-mar-code") if isinstance(node, Mapping) else None
    for part in error.absolute_schema_path:
        if isinstance(node, Mapping) and part == "$ref":
            node = _resolve(root, str(node["$ref"]))
            continue
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, Mapping) and "x-mar-code" in node:
            code = str(node["x-mar-code"])
    return code


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    node: Any = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if part:
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node
