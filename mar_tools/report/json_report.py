"""The JSON report (``--format json``), described by ``schemas/validate-report.schema.json``.

The shape is a stable contract (``"version": 1``): fields are only ever added.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mar_tools.report.finding import Finding, Severity
from mar_tools.report.result import ArchiveResult, Report

FORMAT_VERSION = 1


def report_data(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "version": FORMAT_VERSION,
        "tool": {"name": "mar validate", "version": report.tool_version},
        "valid": report.valid,
        "strict": report.strict,
        "summary": {
            "archives": len(report.results),
            "valid": len(report.results) - report.invalid,
            "invalid": report.invalid,
            **_counts(report.total),
        },
        "archives": [_archive(result, report.strict) for result in report.results],
    }


def render_json(report: Report) -> str:
    """The report as indented JSON text, ending with a newline."""
    return json.dumps(report_data(report), indent=2) + "\n"


def _counts(count: Callable[[Severity], int]) -> dict[str, int]:
    return {
        "errors": count(Severity.ERROR),
        "warnings": count(Severity.WARNING),
        "infos": count(Severity.INFO),
    }


def _archive(result: ArchiveResult, strict: bool) -> dict[str, Any]:
    return {
        "path": result.path,
        "format": result.format,
        "valid": not result.failed(strict),
        **_counts(result.count),
        "skipped": sorted(result.skipped),
        "findings": [_finding(item) for item in result.findings],
    }


def _finding(item: Finding) -> dict[str, Any]:
    loc = item.location
    return {
        "code": item.code,
        "severity": item.severity.value,
        "message": item.message,
        "hint": item.hint,
        "location": {
            "member": loc.member,
            "line": loc.line,
            "column": loc.column,
            "pointer": loc.pointer,
        },
    }
