"""The manifest: present, a UTF-8 JSON object, valid against the schema, and every file
it names present in the archive (the handler is checked by :mod:`.handler`).
"""

from __future__ import annotations

import functools
import json
import posixpath
from collections.abc import Iterator

from mar_tools.core.manifest import (
    CONFIG_FILE,
    MANIFEST_PATH,
    MODEL,
    MODEL_FILE,
    REQUIREMENTS_FILE,
    SERIALIZED_FILE,
    Manifest,
)
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.names import name_problems
from mar_tools.validate.schema_findings import LineFinder, schema_findings
from mar_tools.validate.subject import Subject
from mar_tools.validate.yaml_document import YamlDocument, YamlProblem, parse_yaml

#: Manifest keys naming files that must be in the archive.
FILE_KEYS = (SERIALIZED_FILE, MODEL_FILE, REQUIREMENTS_FILE, CONFIG_FILE)


def check_manifest(subject: Subject) -> Iterator[Finding]:
    """Findings for the manifest; sets ``subject.manifest`` when it is a JSON object."""
    member = subject.find(MANIFEST_PATH)
    if member is None:
        yield finding("manifest.missing", f"{MANIFEST_PATH} is not in the archive.",
                      hint=_missing_hint(subject))  # fmt: skip
        return
    data = subject.read_text(member)
    if data is None:
        if member.name not in subject.unreadable:
            yield finding("manifest.invalid-json", f"{MANIFEST_PATH} is too large.", MANIFEST_PATH)
        return
    try:
        text = data.decode("utf-8")
        parsed = json.loads(text)
    except UnicodeDecodeError as exc:
        message = f"{MANIFEST_PATH} is not UTF-8 text ({exc.reason})."
        yield finding("manifest.invalid-json", message, MANIFEST_PATH)
        return
    except json.JSONDecodeError as exc:
        yield finding(
            "manifest.invalid-json",
            f"{MANIFEST_PATH} is not valid JSON: {exc.msg}.",
            MANIFEST_PATH,
            line=exc.lineno,
            column=exc.colno,
        )
        return
    except RecursionError:
        message = f"{MANIFEST_PATH} nests too deeply to be read."
        yield finding("manifest.invalid-json", message, MANIFEST_PATH)
        return
    if not isinstance(parsed, dict):
        yield finding(
            "manifest.invalid-json",
            f"{MANIFEST_PATH} holds a JSON {type(parsed).__name__}, not an object.",
            MANIFEST_PATH,
        )
        return
    subject.manifest = Manifest.from_mapping(parsed)
    yield from schema_findings(
        "manifest", parsed, MANIFEST_PATH, default_code="manifest.schema", lines=_lines(text)
    )
    yield from _references(subject, parsed)


def _lines(text: str) -> LineFinder:
    """Where a JSON pointer is in the manifest *text*; the text is parsed for positions
    (as YAML, a superset of JSON) only when a finding first needs one."""

    @functools.cache
    def document() -> YamlDocument | YamlProblem:
        return parse_yaml(text)

    def locate(pointer: str) -> tuple[int, int] | None:
        parsed = document()
        return parsed.locate(pointer) if isinstance(parsed, YamlDocument) else None

    return locate


def _references(subject: Subject, manifest: dict[str, object]) -> Iterator[Finding]:
    model = manifest.get(MODEL)
    if not isinstance(model, dict):
        return
    for key in FILE_KEYS:
        value = model.get(key)
        if not isinstance(value, str) or not value:
            continue
        pointer = f"/{MODEL}/{key}"
        problems = name_problems(value)
        if problems:
            reasons = ", ".join(reason for _, reason in problems)
            yield finding(
                "manifest.unsafe-reference",
                f"model.{key} {value!r} is unsafe ({reasons}).",
                MANIFEST_PATH,
                pointer=pointer,
            )
        elif not _present(subject, posixpath.normpath(value)):
            yield finding(
                "manifest.missing-file",
                f"model.{key} names {value!r}, which is not in the archive.",
                MANIFEST_PATH,
                pointer=pointer,
            )


def _present(subject: Subject, name: str) -> bool:
    """True when the archive has a member *name*: a regular file, or a link or special file
    (already reported as ``path.symlink`` / ``path.special-file``)."""
    return subject.find(name) is not None or any(
        member.name == name and member.kind != "dir" for member in subject.view.members
    )


def _missing_hint(subject: Subject) -> str | None:
    if subject.format == "tgz" and any(
        m.raw_name == MANIFEST_PATH or m.raw_name.endswith("/" + MANIFEST_PATH.split("/")[-1])
        for m in subject.view.members
    ):
        return (
            "TorchServe strips the first path component of every tar.gz entry; put all "
            "files under one top directory (<model-name>/MAR-INF/MANIFEST.json)."
        )
    if subject.format == "directory":
        return "Point at the model directory itself (the one holding MAR-INF/)."
    return None
