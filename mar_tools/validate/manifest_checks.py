"""The manifest: present, a UTF-8 JSON object, valid against the schema, and every file
it names present in the archive (the handler is checked by :mod:`.handler`).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator

from mar_tools.manifest import (
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
from mar_tools.validate.schema_findings import schema_findings
from mar_tools.validate.subject import Subject
from mar_tools.validate.yaml_document import YamlDocument, parse_yaml

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
    subject.manifest_data = parsed
    subject.manifest = Manifest.from_mapping(parsed)
    positions = parse_yaml(text)
    lines = positions.locate if isinstance(positions, YamlDocument) else None
    yield from schema_findings(
        "manifest", parsed, MANIFEST_PATH, default_code="manifest.schema", lines=lines
    )
    yield from _references(subject, parsed)


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
            reasons = " and ".join(reason for _, reason in problems)
            yield finding(
                "manifest.unsafe-reference",
                f"model.{key} {value!r} has {reasons}.",
                MANIFEST_PATH,
                pointer=pointer,
            )
        elif subject.find(posixpath.normpath(value)) is None:
            yield finding(
                "manifest.missing-file",
                f"model.{key} names {value!r}, which is not in the archive.",
                MANIFEST_PATH,
                pointer=pointer,
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
