"""The renderers: JSON, SARIF and JUnit checked against schemas; text and GitHub verbatim."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mar_tools.core.schema import load_schema
from mar_tools.report.finding import Finding, Location, Severity
from mar_tools.report.github import render_github
from mar_tools.report.json_report import render_json
from mar_tools.report.junit import render_junit
from mar_tools.report.result import ArchiveResult, Report
from mar_tools.report.sarif import render_sarif, to_uri
from mar_tools.report.text import render_text
from mar_tools.validate import CATALOG, validate_paths
from tests.validate.builders import members, write_dir, write_zip

DATA = Path(__file__).parent / "data"


def assert_valid(instance: object, schema: dict[str, Any]) -> None:
    validator = Draft202012Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert errors == []


@pytest.fixture
def report(tmp_path: Path, weights: bytes) -> Report:
    good = write_zip(tmp_path / "good.mar", members(weights))
    bad = write_zip(
        tmp_path / "bad.mar",
        {**members(weights, model_config_yaml=b"batchSize: '4'\n"), "../evil": b"x"},
    )
    directory = write_dir(
        tmp_path / "dir" / "m1",
        members(weights, handler_py=b"def handle(data):\n    return data\n"),
    )
    unreadable = tmp_path / "broken.mar"
    unreadable.write_bytes(b"PK\x03\x04 truncated")
    return validate_paths([good, bad, directory, unreadable])


def test_json_report_matches_its_schema(report: Report) -> None:
    data = json.loads(render_json(report))
    assert_valid(data, load_schema("validate-report"))
    assert data["valid"] is False
    assert data["summary"] == {
        "archives": 4, "valid": 1, "invalid": 3, "errors": 3, "warnings": 1, "infos": 0,
    }  # fmt: skip
    assert [a["valid"] for a in data["archives"]] == [True, False, False, False]
    bad = data["archives"][1]["findings"]
    assert [(f["code"], f["location"]["member"], f["location"]["line"]) for f in bad] == [
        ("path.traversal", "../evil", None),
        ("config.type", "model-config.yaml", 1),
    ]
    assert bad[1]["location"]["pointer"] == "/batchSize"


def test_sarif_log_matches_the_sarif_subset_schema(report: Report) -> None:
    log = json.loads(render_sarif(report))
    assert_valid(log, json.loads((DATA / "sarif-2.1.0-subset.schema.json").read_text()))
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [info.code for info in CATALOG]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    by_rule = {result["ruleId"]: result for result in run["results"]}
    in_zip = by_rule["config.type"]
    assert in_zip["message"]["text"].startswith("model-config.yaml:1:12: /batchSize:")
    assert in_zip["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": to_uri(report.results[1].path)}
    }
    assert in_zip["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].endswith(
        "bad.mar/model-config.yaml"
    )
    in_dir = by_rule["handler.function-signature"]["locations"][0]["physicalLocation"]
    assert in_dir["artifactLocation"]["uri"].endswith("/dir/m1/handler.py")
    assert in_dir["region"] == {"startLine": 1}


def junit_tree(element: ET.Element) -> dict[str, Any]:
    node: dict[str, Any] = {"tag": element.tag, "attrib": dict(element.attrib)}
    if element.text and element.text.strip():
        node["text"] = element.text
    node["children"] = [junit_tree(child) for child in element]
    return node


def test_junit_report_matches_its_schema(report: Report) -> None:
    root = ET.fromstring(render_junit(report))
    assert_valid(junit_tree(root), json.loads((DATA / "junit.schema.json").read_text()))
    suites = root.findall("testsuite")
    assert len(suites) == 4
    assert all(len(suite.findall("testcase")) == len(CATALOG) for suite in suites)
    assert root.get("tests") == str(4 * len(CATALOG))
    bad = {case.get("name"): case for case in suites[1]}
    assert bad["path.traversal"].find("failure") is not None
    assert bad["config.type"].find("failure") is None  # a warning, not --strict
    assert "config.type" in (bad["config.type"].findtext("system-out") or "") or (
        "batchSize" in (bad["config.type"].findtext("system-out") or "")
    )
    directory = {case.get("name"): case for case in suites[2]}
    assert directory["zip.overlap"].find("skipped") is not None
    assert root.get("failures") == "3"


def test_strict_makes_warnings_fail_everywhere(report: Report) -> None:
    strict = Report(report.results, report.checks, strict=True, tool_version="0")
    root = ET.fromstring(render_junit(strict))
    bad = {case.get("name"): case for case in root.findall("testsuite")[1]}
    assert bad["config.type"].find("failure") is not None
    assert json.loads(render_json(strict))["strict"] is True


def constructed() -> Report:
    findings = (
        Finding(
            "path.traversal",
            Severity.ERROR,
            "entry '../x' has a '..' component.",
            Location(member="../x"),
            "Remove the entry.",
        ),
        Finding(
            "config.type",
            Severity.WARNING,
            "/batchSize: '4' is not of type 'integer'.",
            Location(member="model-config.yaml", line=1, column=12, pointer="/batchSize"),
            "Use an integer.",
        ),
        Finding(
            "config.type",
            Severity.WARNING,
            "/maxWorkers: 'x,y' is: 100% wrong.",
            Location(member="model-config.yaml", line=2),
            "Use an integer.",
        ),
        Finding("pickle.not-scanned", Severity.INFO, "w.pt was not scanned.", Location("w.pt")),
    )
    results = (
        ArchiveResult("models/a.mar", "zip", findings),
        ArchiveResult("models/b", "directory", (findings[1],), root="models/b/m1"),
        ArchiveResult("models/ok.mar", "zip", ()),
    )
    return Report(results, CATALOG, tool_version="9.9")


def test_text_report_verbatim() -> None:
    assert render_text(constructed()) == (
        "models/a.mar (zip): invalid (1 error, 2 warnings, 1 note)\n"
        "  error[path.traversal] ../x: entry '../x' has a '..' component.\n"
        "    hint: Remove the entry.\n"
        "  warning[config.type] model-config.yaml:1:12: /batchSize: '4' is not of type "
        "'integer'.\n"
        "    hint: Use an integer.\n"
        "  warning[config.type] model-config.yaml:2: /maxWorkers: 'x,y' is: 100% wrong.\n"
        "  info[pickle.not-scanned] w.pt: w.pt was not scanned.\n"
        "\n"
        "models/b (directory): valid (1 warning)\n"
        "  warning[config.type] model-config.yaml:1:12: /batchSize: '4' is not of type "
        "'integer'.\n"
        "    hint: Use an integer.\n"
        "\n"
        "models/ok.mar (zip): valid\n"
        "\n"
        "3 archives checked: 2 valid, 1 invalid (1 error, 3 warnings, 1 note).\n"
    )


def test_github_annotations_verbatim() -> None:
    assert render_github(constructed()) == (
        "::error file=models/a.mar,title=path.traversal::../x: entry '../x' has a '..' "
        "component.%0Ahint: Remove the entry.\n"
        "::warning file=models/a.mar,title=config.type::model-config.yaml:1:12: /batchSize: "
        "'4' is not of type 'integer'.%0Ahint: Use an integer.\n"
        "::warning file=models/a.mar,title=config.type::model-config.yaml:2: /maxWorkers: "
        "'x,y' is: 100%25 wrong.%0Ahint: Use an integer.\n"
        "::notice file=models/a.mar,title=pickle.not-scanned::w.pt: w.pt was not scanned.\n"
        "::warning file=models/b/m1/model-config.yaml,line=1,col=12,title=config.type::"
        "/batchSize: '4' is not of type 'integer'.%0Ahint: Use an integer.\n"
        "3 archives checked: 2 valid, 1 invalid (1 error, 3 warnings, 1 note).\n"
    )


def test_github_properties_are_escaped() -> None:
    odd = ArchiveResult("dir,with:odd%name.mar", "zip", (Finding("x.y", Severity.ERROR, "m"),))
    line = render_github(Report((odd,), CATALOG)).splitlines()[0]
    assert line == "::error file=dir%2Cwith%3Aodd%25name.mar,title=x.y::m"


def test_sarif_uris() -> None:
    assert to_uri("/tmp/a b/m.mar") == "file:///tmp/a%20b/m.mar"
    assert to_uri("models/m#1.mar") == "models/m%231.mar"
