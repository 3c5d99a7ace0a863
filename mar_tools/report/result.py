"""The outcome of validating one or several archives, independent of how it is shown."""

from __future__ import annotations

from mar_tools.core.record import record
from mar_tools.report.finding import CheckInfo, Finding, Severity


@record
class ArchiveResult:
    """Findings for one PATH.

    ``format`` is ``zip``, ``tgz`` or ``directory`` (None when the path could not be read
    as any of them). ``skipped`` lists the codes whose check did not run on this archive
    (filtered out by ``--select``/``--ignore``, or not done with ``--quick``).
    """

    path: str
    format: str | None
    findings: tuple[Finding, ...]
    skipped: frozenset[str] = frozenset()
    #: For a directory: the model directory actually examined (TorchServe's lone-subdirectory
    #: rule may pick a child of ``path``); members are files below it.
    root: str | None = None

    def member_file(self, member: str | None) -> str:
        """The file a renderer should point at: the member's own file for a directory,
        else the archive itself (members of a zip or tar.gz are not files on disk)."""
        if member and self.root is not None:
            return f"{self.root.rstrip('/')}/{member}"
        return self.path

    def count(self, severity: Severity) -> int:
        """How many findings have *severity*."""
        return sum(1 for finding in self.findings if finding.severity is severity)

    def failed(self, strict: bool) -> bool:
        """True when an error (or, with *strict*, a warning) was found."""
        return any(finding.severity.fails(strict) for finding in self.findings)


@record
class Report:
    """All results of one ``mar validate`` call, with the catalog of checks that ran.

    ``checks`` is the catalog in documentation order; renderers use it for SARIF rules and
    JUnit test cases.
    """

    results: tuple[ArchiveResult, ...]
    checks: tuple[CheckInfo, ...]
    strict: bool = False
    tool_version: str = ""

    @property
    def invalid(self) -> int:
        """How many archives failed."""
        return sum(1 for result in self.results if result.failed(self.strict))

    @property
    def valid(self) -> bool:
        """True when no archive failed."""
        return self.invalid == 0

    def total(self, severity: Severity) -> int:
        """Findings of *severity* over all archives."""
        return sum(result.count(severity) for result in self.results)
