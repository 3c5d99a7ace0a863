"""model-config.yaml: parses as one YAML mapping, matches the schema, makes sense as a whole.

Findings point at the JSON pointer of the offending value and at its line in the file.
Schema violations are warnings by default (TorchServe ignores a value of the wrong type
or range and logs a warning); the values that make loading fail are errors.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from mar_tools.core.model_source import ModelProblem, decode_model_config
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.manifest_checks import problem_finding
from mar_tools.validate.schema_findings import schema_findings
from mar_tools.validate.subject import Subject

if TYPE_CHECKING:
    from mar_tools.core.yaml_document import YamlDocument

#: File names users give the config; one at the root that the manifest ignores is suspicious.
USUAL_NAMES = ("model-config.yaml", "model-config.yml", "model_config.yaml", "model_config.yml")
KEYWORD_CODES = {
    "type": "config.type",
    "additionalProperties": "config.unknown-key",
}


def check_config(subject: Subject) -> Iterator[Finding]:
    """Findings for the model config; sets ``subject.model_config`` when it is a mapping."""
    manifest = subject.manifest
    configured = manifest.model.config_file if manifest else None
    if not configured:
        for name in USUAL_NAMES:
            if manifest is not None and subject.find(name) is not None:
                yield finding(
                    "config.not-referenced",
                    f"{name} is in the archive but the manifest has no configFile; "
                    "TorchServe ignores it.",
                    name,
                )
        return
    name = posixpath.normpath(configured)
    member = subject.find(name)
    data = subject.read_text(member) if member is not None else None
    if member is None or member.name in subject.unreadable:
        return  # missing: manifest.missing-file; unreadable: entry.corrupt
    document = decode_model_config(name, data)
    if isinstance(document, ModelProblem):
        yield problem_finding(document)
        return
    subject.model_config = document.value
    try:
        yield from schema_findings(
            "model-config",
            document.value,
            name,
            default_code="config.value",
            keyword_codes=KEYWORD_CODES,
            lines=document.locate,
        )
    except RecursionError:
        yield finding("config.invalid-yaml", f"{name} nests too deeply to be checked.", name)
        return
    yield from _combinations(name, document.value, document)


def _combinations(
    name: str, config: Mapping[str, Any], document: YamlDocument
) -> Iterator[Finding]:
    """Values that are each valid but have no effect together."""
    low, high = _int(config.get("minWorkers")), _int(config.get("maxWorkers"))
    if low is not None and low > 0 and not (high is not None and high >= low):
        line = document.locate("/minWorkers")
        yield finding(
            "config.value",
            "minWorkers is applied only together with maxWorkers >= minWorkers; "
            "TorchServe uses its default worker count instead.",
            name,
            line=line[0] if line else None,
            pointer="/minWorkers",
        )
    kind, level = config.get("parallelType"), _int(config.get("parallelLevel"))
    torchrun = config.get("torchrun")
    nproc = _int(torchrun.get("nproc-per-node")) if isinstance(torchrun, dict) else None
    if isinstance(kind, str) and not (level is not None and level > 0) and nproc is None:
        line = document.locate("/parallelType")
        yield finding(
            "config.value",
            "parallelType has no effect without parallelLevel > 0.",
            name,
            line=line[0] if line else None,
            pointer="/parallelType",
        )


def _int(value: object) -> int | None:
    """*value* when it is an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
