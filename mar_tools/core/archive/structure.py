"""The structural checks every archive passes before anything is extracted from it.

One set of rules for ``mar validate`` (which reports each problem as a finding) and for
extraction (which refuses an archive with a fatal one): unsafe member names in every form
(``..``, absolute, drive letters, backslashes, NUL bytes, empty), links and special files,
duplicate names, the zip's layout as TorchServe's streaming reader sees it
(:mod:`.zip_layout`), and the declared sizes against the :class:`~mar_tools.core.limits.Limits`.

Each problem carries its ``mar validate`` code and message; ``fatal`` says whether it stops
extraction (and is an error in ``mar validate``). Names with a non-ASCII character but no
UTF-8 flag, and names differing only in case, are the only non-fatal ones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

from mar_tools.core.archive.member import Member, name_problems
from mar_tools.core.archive.problem import Problem
from mar_tools.core.archive.view import ArchiveView
from mar_tools.core.archive.zip_layout import layout_problems
from mar_tools.core.archive.zip_view import ZipView
from mar_tools.core.limits import LimitExceeded, Limits

#: Every code these checks can report, and whether it is fatal.
STRUCTURAL_CODES: dict[str, bool] = {
    "zip.prefix-data": True,
    "zip.hidden-data": True,
    "zip.header-mismatch": True,
    "zip.overlap": True,
    "zip.stored-data-descriptor": True,
    "zip.name-encoding": False,
    "entry.encrypted": True,
    "entry.unsupported-compression": True,
    "path.traversal": True,
    "path.absolute": True,
    "path.drive-letter": True,
    "path.backslash": True,
    "path.invalid": True,
    "path.duplicate": True,
    "path.case-collision": False,
    "path.symlink": True,
    "path.special-file": True,
    "limits.total-size": True,
    "limits.ratio": True,
    "limits.entry-count": True,
}


def structural_problems(view: ArchiveView, limits: Limits) -> Iterator[Problem]:
    """Every structural problem of *view* (see the module docstring), zip layout first."""
    if isinstance(view, ZipView):
        yield from layout_problems(view)
    for member in view.members:
        yield from member_problems(member)
    yield from duplicate_problems(view.members)
    yield from (error_problem(error) for error in declared_limit_errors(view, limits))


def member_problems(member: Member) -> Iterator[Problem]:
    """Unsafe names (the stored name and the one TorchServe extracts to), links and
    special files."""
    shown = printable(member.raw_name)
    seen: set[str] = set()
    for name in dict.fromkeys((member.raw_name, member.name)):
        if not name and member.kind == "dir":
            continue  # a tar.gz's top directory: TorchServe strips it to the model dir itself
        for kind, reason in name_problems(name):
            code = f"path.{kind}"
            if code not in seen:
                seen.add(code)
                yield Problem(code, f"entry {shown!r}: {reason}.", shown)
    if member.kind == "symlink":
        target = f" to {member.link_target!r}" if member.link_target else ""
        yield Problem("path.symlink", f"entry {shown!r} is a link{target}.", shown)
    elif member.kind == "other":
        yield Problem("path.special-file", f"entry {shown!r} is not a regular file.", shown)


def path_key(name: str) -> str:
    """The path *name* is extracted to: empty and ``.`` components dropped (``a//./b`` is
    ``a/b``)."""
    return "/".join(part for part in name.split("/") if part and part != ".")


def duplicate_problems(members: Iterable[Member]) -> Iterator[Problem]:
    """Two files (or links) extracted to one path, a file where another member needs a
    directory, and names that differ only in case."""
    listed = list(members)
    counts = Counter(path_key(member.name) for member in listed if member.kind != "dir")
    for name, count in counts.items():
        if count > 1:
            yield duplicate_problem(name, count)
    directories: set[str] = set()
    for member in listed:
        parts = path_key(member.name).split("/")
        directories.update("/".join(parts[:end]) for end in range(1, len(parts)))
        if member.kind == "dir":
            directories.add(path_key(member.name))
    for name in sorted(directories.intersection(counts)):
        shown = printable(name)
        yield Problem(
            "path.duplicate",
            f"{shown!r} is both a file and a directory; one overwrites the other.",
            shown,
        )
    folded: defaultdict[str, list[str]] = defaultdict(list)
    for name in counts:
        folded[name.casefold()].append(name)
    for names in folded.values():
        if len(names) > 1:
            shown = ", ".join(repr(printable(n)) for n in sorted(names))
            yield Problem(
                "path.case-collision",
                f"entries {shown} differ only in case.",
                printable(sorted(names)[0]),
                fatal=False,
            )


def duplicate_problem(name: str, count: int) -> Problem:
    """*count* entries named *name*."""
    shown = printable(name)
    return Problem(
        "path.duplicate", f"{count} entries are named {shown!r}; the last one wins.", shown
    )


def declared_limit_errors(
    view: ArchiveView, limits: Limits, where: str = ""
) -> Iterator[LimitExceeded]:
    """The limits that the sizes *view*'s container declares cross (for a zip, the ratio
    of each entry; a tar.gz's ratio was metered while it was listed); *where* names the
    archive in the messages."""
    members = view.members
    count = limits.entry_count(len(members), where)
    if count is not None:
        yield count
    total = limits.total_size(sum(member.size for member in members), where)
    if total is not None:
        yield total
    if not isinstance(view, ZipView):
        return
    for member in members:
        ratio = limits.ratio(member.size, member.compressed_size, member.name, where, member.name)
        if ratio is not None:
            yield ratio


def error_problem(error: LimitExceeded) -> Problem:
    """A limit error as a problem (member: the entry a zip ratio names, else None)."""
    return Problem(error.code, error.detail, error.member)


def printable(name: str) -> str:
    """*name* with control characters escaped, so output stays on one line."""
    if name.isprintable():
        return name
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name)
