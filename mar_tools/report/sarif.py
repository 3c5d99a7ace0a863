"""SARIF 2.1.0 output (``--format sarif``) for code-scanning services.

One run; one rule per catalog code; one result per finding. A finding inside a zip or
tar.gz points at the archive file (its members are not files in the repository) and names
the member in the message and as a logical location; a finding in a model directory points
at the member's own file, line and column.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import PurePosixPath
from typing import Any

from mar_tools.report.finding import CheckInfo, Finding, Severity
from mar_tools.report.result import ArchiveResult, Report

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mar-tools/mar-tools/blob/main/docs/validate.md"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def sarif_data(report: Report) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (JSON-ready data)."""
    index = {info.code: number for number, info in enumerate(report.checks)}
    results = [
        _result(archive, item, index) for archive in report.results for item in archive.findings
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mar validate",
                        "version": report.tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(info) for info in report.checks],
                    }
                },
                "invocations": [{"executionSuccessful": True}],
                "results": results,
            }
        ],
    }


def render_sarif(report: Report) -> str:
    """The SARIF log as indented JSON text, ending with a newline."""
    return json.dumps(sarif_data(report), indent=2) + "\n"


def _rule(info: CheckInfo) -> dict[str, Any]:
    return {
        "id": info.code,
        "name": "".join(part.capitalize() for part in info.code.replace("-", ".").split(".")),
        "shortDescription": {"text": info.title},
        "help": {"text": info.fix},
        "helpUri": f"{INFORMATION_URI}#{info.code.replace('.', '')}",
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {"tags": [info.family]},
    }


def _result(archive: ArchiveResult, item: Finding, index: dict[str, int]) -> dict[str, Any]:
    loc = item.location
    in_directory = archive.root is not None and loc.member is not None
    where = loc.describe()
    text = item.message if in_directory or not where else f"{where}: {item.message}"
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": to_uri(archive.member_file(loc.member))}
    }
    if in_directory and loc.line is not None:
        region: dict[str, int] = {"startLine": loc.line}
        if loc.column is not None:
            region["startColumn"] = loc.column
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if loc.member is not None and not in_directory:
        location["logicalLocations"] = [
            {"fullyQualifiedName": f"{archive.path}/{loc.member}", "kind": "resource"}
        ]
    result: dict[str, Any] = {
        "ruleId": item.code,
        "level": LEVELS[item.severity],
        "message": {"text": text},
        "locations": [location],
    }
    if item.code in index:
        result["ruleIndex"] = index[item.code]
    return result


def to_uri(path: str) -> str:
    """A URI reference for *path*: ``file://`` for absolute paths, else relative, escaped."""
    posix = path.replace("\\", "/")
    if posix.startswith("/"):
        return "file://" + urllib.parse.quote(posix)
    return urllib.parse.quote(str(PurePosixPath(posix)))
