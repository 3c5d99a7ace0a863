"""The fast schema check never disagrees with jsonschema: whatever it calls certainly valid,
the full validator finds valid too; and it does recognise the manifests torch-model-archiver
writes (that is what keeps jsonschema out of ``mar validate``'s start-up)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mar_tools.core.schema import load_schema, validator
from mar_tools.core.schema_check import certainly_valid

MANIFEST: dict[str, Any] = {
    "createdOn": "01/01/2025 00:00:00",
    "runtime": "python",
    "model": {
        "modelName": "m",
        "serializedFile": "w.pt",
        "handler": "handler.py",
        "modelVersion": "1.0",
    },
    "archiverVersion": "0.12.0",
}

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(["", "m", "1.0", "python", "LSP", "java", "-bad", "01/01/2025 00:00:00"]),
    st.just({}),
    st.just([]),
)
KEYS = st.sampled_from(["createdOn", "runtime", "archiverVersion", "description", "model", "extra"])
MODEL_KEYS = st.sampled_from(
    ["modelName", "handler", "serializedFile", "modelFile", "modelVersion", "extensions",
     "requirementsFile", "configFile", "envelope", "version", "other"]
)  # fmt: skip


def _agrees(instance: Any) -> None:
    if certainly_valid(load_schema("manifest"), instance):
        assert list(validator("manifest").iter_errors(instance)) == [], instance


def test_the_archivers_manifest_is_certainly_valid() -> None:
    assert certainly_valid(load_schema("manifest"), MANIFEST)
    _agrees(MANIFEST)


def test_each_kind_of_violation_is_left_to_jsonschema() -> None:
    broken: list[Any] = [[], "x", {}]
    for key, value in [
        ("runtime", "java"),
        ("runtime", 1),
        ("createdOn", "2025-01-01"),
        ("archiverVersion", 12),
    ]:
        broken.append({**MANIFEST, key: value})
    for key, value in [
        ("modelName", "-m"),
        ("handler", ""),
        ("modelVersion", 1.0),
        ("extensions", []),
        ("serializedFile", None),
    ]:
        manifest = copy.deepcopy(MANIFEST)
        manifest["model"][key] = value
        broken.append(manifest)
    without = copy.deepcopy(MANIFEST)
    del without["model"]["handler"]
    broken.append(without)
    for instance in broken:
        assert not certainly_valid(load_schema("manifest"), instance), instance
        assert list(validator("manifest").iter_errors(instance)), instance


def test_an_unknown_keyword_is_never_guessed() -> None:
    assert not certainly_valid({"type": "integer", "multipleOf": 3}, 6)
    assert not certainly_valid({"$ref": "other.json#/x"}, 1)
    assert not certainly_valid({"patternProperties": {"^a": {}}}, {})
    assert not certainly_valid({"additionalProperties": False}, {"x": 1})
    assert not certainly_valid({"enum": [1, True]}, 1)


@settings(max_examples=300, deadline=None)
@given(
    top=st.dictionaries(KEYS, VALUES, max_size=4),
    model=st.dictionaries(MODEL_KEYS, VALUES, max_size=6),
    keep_model=st.booleans(),
)
def test_never_valid_where_jsonschema_finds_an_error(
    top: dict[str, Any], model: dict[str, Any], keep_model: bool
) -> None:
    instance = {**MANIFEST, **top}
    if keep_model:
        instance["model"] = {**MANIFEST["model"], **model}
    _agrees(instance)
    _agrees(json.loads(json.dumps(instance)))


CONFIG_SCHEMA = load_schema("model-config")
CONFIG_KEYS = st.sampled_from([*CONFIG_SCHEMA["properties"], "handler", "unknownKey"])
CONFIG_VALUES = st.one_of(
    VALUES,
    st.integers(-(2**31) - 1, 2**31),
    st.sampled_from([0, 1, 2**31 - 1, 2**31, -1, 1.5, "gpu", "cpu", "tp", ["a"], [1, "b"]]),
    st.dictionaries(st.sampled_from(["a", "b", "x"]), st.integers(-1, 2), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(config=st.dictionaries(CONFIG_KEYS, CONFIG_VALUES, max_size=6))
def test_model_configs_are_never_valid_where_jsonschema_finds_an_error(
    config: dict[str, Any],
) -> None:
    if certainly_valid(CONFIG_SCHEMA, config):
        assert list(validator("model-config").iter_errors(config)) == [], config


def test_a_typical_model_config_is_certainly_valid() -> None:
    config = {"minWorkers": 1, "maxWorkers": 2, "batchSize": 4, "maxBatchDelay": 100}
    assert list(validator("model-config").iter_errors(config)) == []
    assert certainly_valid(CONFIG_SCHEMA, config)
    assert not certainly_valid(CONFIG_SCHEMA, {**config, "batchSize": 0})


def test_validating_a_good_archive_imports_neither_jsonschema_nor_yaml(tmp_path: Any) -> None:
    import zipfile

    path = tmp_path / "m.mar"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MAR-INF/MANIFEST.json", json.dumps(MANIFEST))
        archive.writestr("handler.py", "def handle(data, context):\n    return data\n")
        archive.writestr("w.pt", b"not scanned as a pickle")
    code = (
        "import sys\nfrom mar_tools.cli import main\n"
        f"try:\n    main(['validate', {str(path)!r}])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('jsonschema', 'yaml') if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.splitlines()[-1] == "[]", done.stderr
