"""JUnit XML output (``--format junit``) for CI test-report viewers.

One ``<testsuite>`` per archive and one ``<testcase>`` per check code in it: the case fails
when the check found an error (or a warning with ``--strict``), is skipped when the check
did not run, and passes otherwise; findings that do not fail it go to ``<system-out>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mar_tools.report.finding import Finding
from mar_tools.report.result import ArchiveResult, Report


def render_junit(report: Report) -> str:
    """The report as a JUnit XML document, ending with a newline."""
    root = ET.Element("testsuites", name="mar validate")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for archive in report.results:
        suite = _suite(report, archive)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _suite(report: Report, archive: ArchiveResult) -> ET.Element:
    suite = ET.Element("testsuite", name=archive.path)
    by_code: dict[str, list[Finding]] = {}
    for item in archive.findings:
        by_code.setdefault(item.code, []).append(item)
    failures = skipped = 0
    for info in report.checks:
        case = ET.SubElement(
            suite, "testcase", classname=f"mar.validate.{info.family}", name=info.code
        )
        found = by_code.get(info.code, [])
        bad = [item for item in found if item.severity.fails(report.strict)]
        if bad:
            failures += 1
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{len(bad)} finding{'s' if len(bad) != 1 else ''}: {bad[0].message}",
                type=info.code,
            )
            failure.text = "\n".join(_line(item) for item in bad)
        elif info.code in archive.skipped:
            skipped += 1
            ET.SubElement(case, "skipped", message="check not run on this archive")
        rest = [item for item in found if item not in bad]
        if rest:
            ET.SubElement(case, "system-out").text = "\n".join(_line(item) for item in rest)
    suite.set("tests", str(len(report.checks)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    return suite


def _line(item: Finding) -> str:
    where = item.location.describe()
    text = f"{item.severity.value}: {where + ': ' if where else ''}{item.message}"
    return f"{text} (hint: {item.hint})" if item.hint else text
