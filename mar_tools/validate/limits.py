"""Zip-bomb limits on what the container declares, checked before any entry is read.

The full check later verifies that each entry really decompresses to its declared size
(and stops reading when it does not), so the declared sizes are the ones that count.
"""

from __future__ import annotations

from collections.abc import Iterator

from mar_tools.core.sizes import human_size
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.options import Limits
from mar_tools.validate.subject import Subject


def check_limits(subject: Subject) -> Iterator[Finding]:
    """Findings for too many entries, too many bytes, or too high compression ratios."""
    limits: Limits = subject.options.limits
    members = subject.view.members
    if len(members) > limits.max_entries:
        yield finding(
            "limits.entry-count",
            f"the archive has {len(members)} entries; the limit is {limits.max_entries}.",
        )
    total = sum(member.size for member in members)
    if total > limits.max_total_size:
        yield finding(
            "limits.total-size",
            f"the entries declare {human_size(total)} uncompressed; the limit is "
            f"{human_size(limits.max_total_size)}.",
        )
    for member in members:
        if member.size < limits.ratio_min_size:
            continue
        ratio = member.size / max(member.compressed_size, 1)
        if ratio > limits.max_ratio:
            yield finding(
                "limits.ratio",
                f"{member.name} expands {ratio:.0f}:1 ({human_size(member.compressed_size)} to "
                f"{human_size(member.size)}); the limit is {limits.max_ratio:g}:1.",
                member.name,
            )


def exceeds_size(subject: Subject) -> bool:
    """True when reading every entry would pass the total-size limit (so don't)."""
    total = sum(member.size for member in subject.view.members)
    return total > subject.options.limits.max_total_size
