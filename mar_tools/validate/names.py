"""Member names and kinds: zip-slip in every form, links, special files, duplicates.

TorchServe checks extracted paths for zip-slip itself, but other tools (``unzip``, ``tar``,
our own ``mar run``) meet the same archive; a name that is unsafe anywhere fails here.
For tar.gz archives both the stored name and the name after TorchServe strips the first
component are checked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from mar_tools.core.archive import Member
from mar_tools.core.archive.member import name_problems as archive_name_problems
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.subject import Subject


def name_problems(name: str) -> list[tuple[str, str]]:
    """(code, reason) for each way *name* is unsafe to extract; empty when it is safe.

    The rule is the archive package's (the one ``mar run`` extracts by); each kind of
    problem is reported under its own ``path.*`` code.
    """
    return [(f"path.{kind}", reason) for kind, reason in archive_name_problems(name)]


def check_names(subject: Subject) -> Iterator[Finding]:
    """Findings for unsafe names, links, special files, duplicates and case collisions."""
    for member in subject.view.members:
        yield from _member_findings(member)
    yield from _duplicates(subject.view.members)


def _member_findings(member: Member) -> Iterator[Finding]:
    shown = _printable(member.raw_name)
    seen: set[str] = set()
    for name in dict.fromkeys((member.raw_name, member.name)):
        if not name and member.kind == "dir":
            continue  # a tar.gz's top directory: TorchServe strips it to the model dir itself
        for code, reason in name_problems(name):
            if code in seen:
                continue
            seen.add(code)
            yield finding(code, f"entry {shown!r}: {reason}.", shown)
    if member.kind == "symlink":
        target = f" to {member.link_target!r}" if member.link_target else ""
        yield finding("path.symlink", f"entry {shown!r} is a link{target}.", shown)
    elif member.kind == "other":
        yield finding("path.special-file", f"entry {shown!r} is not a regular file.", shown)


def _duplicates(members: tuple[Member, ...]) -> Iterator[Finding]:
    counts = Counter(m.name for m in members if m.kind != "dir")
    for name, count in counts.items():
        if count > 1:
            yield finding(
                "path.duplicate",
                f"{count} entries are named {_printable(name)!r}; the last one wins.",
                _printable(name),
            )
    folded: defaultdict[str, list[str]] = defaultdict(list)
    for name in counts:
        folded[name.casefold()].append(name)
    for names in folded.values():
        if len(names) > 1:
            shown = ", ".join(repr(_printable(n)) for n in sorted(names))
            yield finding(
                "path.case-collision",
                f"entries {shown} differ only in case.",
                _printable(sorted(names)[0]),
            )


def _printable(name: str) -> str:
    """*name* with control characters escaped, so output stays on one line."""
    if name.isprintable():
        return name
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name)
