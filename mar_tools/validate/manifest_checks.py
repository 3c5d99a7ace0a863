"""The manifest: present, a UTF-8 JSON object, valid against the schema, and every file
it names present in the archive (the handler is checked by :mod:`.handler`).

What makes a model unusable is decided by :mod:`mar_tools.core.model_source`, which
``mar run`` and ``mar env`` use too: the same problem, the same message.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mar_tools.core.manifest import MANIFEST_PATH, MODEL, Manifest
from mar_tools.core.model_source import (
    ModelProblem,
    decode_manifest,
    manifest_missing,
    reference_problems,
)
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.schema_findings import LineFinder, schema_findings
from mar_tools.validate.subject import Subject

if TYPE_CHECKING:
    from mar_tools.core.yaml_document import YamlDocument, YamlProblem

#: Schema violations that say what a model-source problem says (no second finding): by the
#: problem's pointer, the pointers and messages of the schema findings it replaces.
SAME_AS: dict[str, tuple[tuple[str, str | None], ...]] = {
    f"/{MODEL}": (("", "the top level lacks the key 'model'."), (f"/{MODEL}", None)),
    f"/{MODEL}/handler": (
        (f"/{MODEL}", "/model lacks the key 'handler'."),
        (f"/{MODEL}/handler", None),
    ),
}


def check_manifest(subject: Subject) -> Iterator[Finding]:
    """Findings for the manifest; sets ``subject.manifest`` when it is a JSON object."""
    member = subject.find(MANIFEST_PATH)
    if member is None:
        raw = [m.raw_name for m in subject.view.members]
        yield problem_finding(manifest_missing(subject.view.format, raw))
        return
    data = subject.read_text(member)
    if data is None and member.name in subject.unreadable:
        return  # reported once, as entry.corrupt
    parsed = decode_manifest(data)
    if isinstance(parsed, ModelProblem):
        yield problem_finding(parsed)
        return
    subject.manifest = Manifest.from_mapping(parsed)
    lines = _lines((data or b"").decode("utf-8"))
    essentials = reference_problems(parsed, lambda name: _present(subject, name))
    replaced = [
        same
        for problem in essentials
        if problem.code == "manifest.schema"
        for same in SAME_AS.get(problem.pointer or "", ())
    ]
    for item in schema_findings(
        "manifest", parsed, MANIFEST_PATH, default_code="manifest.schema", lines=lines
    ):
        if not _is_replaced(item, replaced):
            yield item
    for problem in essentials:
        yield problem_finding(problem, lines(problem.pointer or ""))


def _is_replaced(item: Finding, replaced: list[tuple[str, str | None]]) -> bool:
    pointer = item.location.pointer or ""
    return item.code == "manifest.schema" and any(
        pointer == where and message in (None, item.message) for where, message in replaced
    )


def problem_finding(problem: ModelProblem, position: tuple[int, int] | None = None) -> Finding:
    """The finding for a problem the model source found (its code, message and place)."""
    line, column = position if position else (problem.line, problem.column)
    return finding(
        problem.code,
        problem.message,
        problem.member,
        line=line,
        column=column,
        pointer=problem.pointer,
        hint=problem.hint,
    )


def _lines(text: str) -> LineFinder:
    """Where a JSON pointer is in the manifest *text*; the text is parsed for positions
    (as YAML, a superset of JSON) only when a finding first needs one."""

    @functools.cache
    def document() -> YamlDocument | YamlProblem:
        from mar_tools.core.yaml_document import parse_yaml

        return parse_yaml(text)

    def locate(pointer: str) -> tuple[int, int] | None:
        parsed = document()
        from mar_tools.core.yaml_document import YamlDocument

        return parsed.locate(pointer) if isinstance(parsed, YamlDocument) else None

    return locate


def _present(subject: Subject, name: str) -> bool:
    """True when the archive has a member *name*: a regular file, or a link or special file
    (already reported as ``path.symlink`` / ``path.special-file``)."""
    return subject.find(name) is not None or any(
        member.name == name and member.kind != "dir" for member in subject.view.members
    )
