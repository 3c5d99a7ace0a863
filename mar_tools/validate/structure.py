"""The archive's structure: names, kinds, duplicates, the zip layout and the limits.

The rules are the core's (:mod:`mar_tools.core.archive.structure`), the very ones
extraction refuses an archive by, so ``mar validate`` and ``mar run`` agree on what is
fatal; here each problem becomes a finding with its catalog severity.
"""

from __future__ import annotations

from collections.abc import Iterator

from mar_tools.core.archive.structure import structural_problems
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.subject import Subject

#: Layout findings that explain why a member cannot be read (no entry.corrupt on top).
UNREADABLE_CODES = frozenset(
    {"zip.header-mismatch", "entry.encrypted", "entry.unsupported-compression"}
)


def check_structure(subject: Subject) -> Iterator[Finding]:
    """Findings for every structural problem (see the module docstring)."""
    for problem in structural_problems(subject.view, subject.options.limits):
        if problem.code in UNREADABLE_CODES and problem.member:
            subject.corrupt.add(problem.member)  # reading it fails for this reason
        yield finding(problem.code, problem.message, problem.member)
