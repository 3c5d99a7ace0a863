"""The manifest model: upstream's exact bytes, lenient parsing, createdOn formatting."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mar_tools.core.errors import ManifestError
from mar_tools.core.manifest import Manifest, ModelInfo, format_created_on

#: Upstream 0.12.0's manifest for the contract's example (§1.5), byte for byte.
GOLDEN = """{
  "createdOn": "25/11/2026 11:20:18",
  "runtime": "python",
  "model": {
    "modelName": "m1",
    "serializedFile": "w.pth",
    "handler": "my_handler:fn",
    "modelFile": "model.py",
    "modelVersion": "1.0",
    "requirementsFile": "requirements.txt",
    "configFile": "model-config.yaml"
  },
  "archiverVersion": "0.12.0"
}"""


def full() -> Manifest:
    info = ModelInfo(
        model_name="m1",
        handler="my_handler:fn",
        serialized_file="w.pth",
        model_file="model.py",
        model_version="1.0",
        requirements_file="requirements.txt",
        config_file="model-config.yaml",
    )
    return Manifest("python", info, created_on="25/11/2026 11:20:18", archiver_version="0.12.0")


def test_render_is_upstreams_bytes() -> None:
    assert full().render() == GOLDEN
    assert not full().render().endswith("\n")


def test_empty_values_are_left_out_but_the_handler_never_is() -> None:
    info = ModelInfo(model_name="m", handler="", model_version="", config_file="")
    rendered = Manifest("python3", info, created_on="01/01/2024 00:00:00").render()
    assert json.loads(rendered) == {
        "createdOn": "01/01/2024 00:00:00",
        "runtime": "python3",
        "model": {"modelName": "m", "handler": ""},
    }


def test_non_ascii_is_escaped_as_upstream() -> None:
    info = ModelInfo(model_name="m", handler="h", model_version="vé")
    assert '"modelVersion": "v\\u00e9"' in Manifest("python", info).render()


def test_parse_round_trips_and_keeps_unknown_keys() -> None:
    data = json.loads(GOLDEN)
    data["modelServerVersion"] = "1.0"
    parsed = Manifest.parse(json.dumps(data).encode())
    assert parsed == full()
    assert parsed.raw["modelServerVersion"] == "1.0"
    assert parsed.render() == GOLDEN


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff", "is not UTF-8"),
        (b"{", "is not valid JSON"),
        (b"[1]", "must hold a JSON object, not list"),
    ],
)
def test_parse_rejects_what_is_not_a_json_object(payload: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        Manifest.parse(payload)


def test_wrong_types_read_as_absent() -> None:
    parsed = Manifest.from_mapping({"runtime": 3, "model": {"modelName": ["x"], "handler": "h"}})
    assert (parsed.runtime, parsed.model.model_name, parsed.model.handler) == ("", "", "h")


def test_created_on_format() -> None:
    assert format_created_on(0, utc=True) == "01/01/1970 00:00:00"
    assert format_created_on(1_700_000_000, utc=True) == "14/11/2023 22:13:20"


@given(st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=4))
def test_parsing_any_object_never_crashes(data: dict[str, str]) -> None:
    Manifest.from_mapping(data).render()
