"""The content pass: every entry's bytes checked, serialized files scanned, in one read.

Zip, full mode (the default): each entry is read once, through an
:class:`~mar_tools.core.archive.entry_reader.EntryStream` that verifies its CRC and size;
serialized files are scanned from the same stream (a STORED one through a cheap window on
the file instead). When several large DEFLATED entries are there, they are checked side by
side, one per CPU (inflating releases the GIL); findings are reported in file order.
``--quick``: no CRC; serialized files are scanned when that is cheap.
tar.gz: the gzip CRC was checked when the archive was opened; serialized members are
scanned (a large one during that same pass, :mod:`.early_scan`). Directory: serialized
files are scanned.

In full mode every other file is sniffed too: one whose bytes are a complete binary pickle
(or a zip holding pickles) is scanned whatever its name, so a pickle cannot hide behind a
``.dat`` suffix from a handler that ``torch.load``s it.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from io import RawIOBase
from typing import IO, TYPE_CHECKING, TypeGuard, cast

from mar_tools.core.archive import READ_ERRORS, ContainerFormat, Member, ZipView
from mar_tools.core.archive.entry_reader import EntryStream
from mar_tools.core.archive.problem import Problem
from mar_tools.core.record import record
from mar_tools.core.sizes import human_size
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import CODES, finding
from mar_tools.validate.pickle.sniffing import BLOCK, is_candidate, sniff, with_head
from mar_tools.validate.subject import Subject

if TYPE_CHECKING:
    from mar_tools.validate.early_scan import EarlyScan
    from mar_tools.validate.pickle.policy import Trust

READABLE_METHODS = (0, 8)
#: DEFLATED entries at least this large are checked in parallel when there are several.
PARALLEL_SIZE = 16 << 20
INTEGRITY_CODES = frozenset({"entry.crc-mismatch", "entry.corrupt"})


def check_content(subject: Subject) -> Iterator[Finding]:
    """Integrity and pickle findings for every entry (see the module docstring)."""
    serialized = subject.manifest.model.serialized_file if subject.manifest else None
    if exceeds_size(subject):  # reading it all would be the bomb going off
        subject.skipped.update(INTEGRITY_CODES | {c for c in CODES if c.startswith("pickle.")})
        return
    trust = TrustSource(subject)
    if isinstance(subject.view, ZipView):
        if subject.options.quick:
            subject.skipped.add("entry.crc-mismatch")
        yield from _zip_content(subject, subject.view, serialized, trust)
        return
    for member in subject.view.files():
        if is_candidate(member, serialized):
            yield from _scan_other(subject, member, trust)
        elif not subject.options.quick:
            yield from _sniff_other(subject, member, trust)


def _zip_content(
    subject: Subject, view: ZipView, serialized: str | None, trust: TrustSource
) -> Iterator[Finding]:
    quick = subject.options.quick
    readable = [
        (member, header.data_offset)
        for member in view.members
        if member.kind != "dir"
        and not member.encrypted
        and member.compress_type in READABLE_METHODS
        and (header := view.local_headers.get(member.index)) is not None
        and (not quick or is_candidate(member, serialized))
    ]
    readable.sort(key=lambda pair: pair[1])

    large = [m for m, _ in readable if m.compress_type == 8 and m.compressed_size >= PARALLEL_SIZE]
    jobs = min(len(large), worker_count())

    def check(member: Member, offset: int) -> _Checked:
        candidate = is_candidate(member, serialized)
        # Side by side, the entries keep the cores busy: no read-ahead thread for each.
        return _check_entry(subject, member, offset, candidate, trust, ahead=jobs < 2)

    if jobs < 2:
        checked: Iterator[_Checked] = (check(member, offset) for member, offset in readable)
        yield from _reported(subject, checked)
        return
    # Several large DEFLATED entries: inflate them side by side, one per core; the findings
    # still come in archive order.
    from concurrent.futures import ThreadPoolExecutor  # only for several large entries

    with ThreadPoolExecutor(jobs, "mar-validate") as pool:
        futures = [pool.submit(check, member, offset) for member, offset in readable]
        try:
            yield from _reported(subject, (future.result() for future in futures))
        finally:
            for future in futures:
                future.cancel()


@record
class _Checked:
    """What checking one entry found: its findings, and what was wrong with its bytes."""

    member: Member
    findings: list[Finding]
    problem: Problem | None


def _check_entry(
    subject: Subject,
    member: Member,
    offset: int,
    candidate: bool,
    trust: TrustSource,
    *,
    ahead: bool,
) -> _Checked:
    """Read one entry once: scan it if it is (or looks) serialized, check its CRC and size
    unless ``--quick``. Touches nothing shared: it may run on a worker thread."""
    quick = subject.options.quick
    assert isinstance(subject.view, ZipView)
    with (
        subject.view.archive.reader() as archive,
        EntryStream.at(
            archive,
            offset,
            member.compressed_size,
            member.size,
            member.crc or 0,
            member.compress_type or 0,
            ahead=ahead,
        ) as stream,
    ):
        found: list[Finding] = []
        if candidate:
            found.extend(_scan_zip_entry(subject, member, stream, trust))
        elif not quick:
            buffered = io.BufferedReader(stream, buffer_size=1 << 16)
            found.extend(_sniff(member.name, buffered, trust))
        problem = None if quick else stream.finish()
    return _Checked(member, found, problem)


def _reported(subject: Subject, checked: Iterator[_Checked]) -> Iterator[Finding]:
    """The findings of each checked entry, in order, recording the corrupt ones."""
    for entry in checked:
        yield from entry.findings
        if entry.problem is not None:
            name = entry.member.name
            subject.corrupt.add(name)
            yield finding(entry.problem.code, f"{name} {entry.problem.message}.", name)


def worker_count() -> int:
    """How many entries to inflate at once: one per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def exceeds_size(subject: Subject) -> bool:
    """True when reading every entry would pass the total-size limit (so don't)."""
    total = sum(member.size for member in subject.view.members)
    return total > subject.options.limits.max_total_size


def _scan_zip_entry(
    subject: Subject, member: Member, stream: EntryStream, trust: TrustSource
) -> Iterator[Finding]:
    window = subject.view.open_range(member)
    if window is not None:
        with window:
            yield from _scan(member.name, window, seekable=True, trust=trust)
        return
    if member.compress_type == 8 and not subject.options.quick:
        yield from _scan_inflated(member, stream, trust)
        return
    buffered = io.BufferedReader(stream, buffer_size=1 << 20)
    big = member.compressed_size > subject.options.quick_scan_limit
    if subject.options.quick and big and sniff(buffered.peek(4)[:4], member.name) == "zip":
        yield _not_scanned(subject, member)
        return
    yield from _scan(member.name, buffered, seekable=False, trust=trust)


def _scan_inflated(member: Member, stream: EntryStream, trust: TrustSource) -> Iterator[Finding]:
    """:func:`scan_member` of a DEFLATED entry (whose chunks stay valid): a zip (a torch
    file) is scanned from the inflated chunks themselves, without copying them through
    buffered streams (they are most of the bytes a full check reads); the rest as before."""
    chunks = stream.chunks()
    taken: list[memoryview] = []
    size = 0
    while size < BLOCK and (chunk := next(chunks, None)) is not None:
        taken.append(chunk)
        size += len(chunk)
    head = b"".join(taken)
    if sniff(head[:BLOCK], member.name) == "zip":
        from mar_tools.validate.pickle.scan import scan_zip_chunks

        chained = itertools.chain(taken, chunks)
        yield from scan_zip_chunks(member.name, chained, trust=trust.get())
        return
    rest = with_head(head, io.BufferedReader(stream, buffer_size=1 << 20))
    yield from _scan(member.name, rest, seekable=False, trust=trust)


def _scan_other(subject: Subject, member: Member, trust: TrustSource) -> Iterator[Finding]:
    window = subject.view.open_range(member)
    if window is not None:
        with window:
            yield from _scan(member.name, window, seekable=True, trust=trust)
        return
    early = None
    if subject.view.format is ContainerFormat.TGZ:  # a TarView: its module is imported
        from mar_tools.core.archive.tar_view import TarView

        if isinstance(subject.view, TarView):
            early = subject.view.visited.get(member.index)
    if not subject.options.quick and early is not None and _early_holds(early, trust):
        yield from early.findings  # scanned while the tar.gz was opened (.early_scan)
        return
    try:
        with subject.view.open(member) as raw:
            stream = io.BufferedReader(cast(RawIOBase, raw), buffer_size=1 << 20)
            big = member.size > subject.options.quick_scan_limit
            if subject.options.quick and big and sniff(stream.peek(4)[:4], member.name) == "zip":
                yield _not_scanned(subject, member)
                return
            yield from _scan(member.name, stream, seekable=False, trust=trust)
    except READ_ERRORS as exc:
        subject.unreadable.setdefault(member.name, str(exc) or type(exc).__name__)


def _sniff(name: str, stream: IO[bytes], trust: TrustSource) -> Iterator[Finding]:
    """Scan a file whose name does not say it is serialized, if its bytes say it is."""
    head = stream.read(BLOCK)  # not peek(): one raw read may return fewer bytes
    if sniff(head, "") is not None:
        rest = with_head(head, stream)
        yield from _scan(name, rest, seekable=False, disguised=True, trust=trust)


def _sniff_other(subject: Subject, member: Member, trust: TrustSource) -> Iterator[Finding]:
    """:func:`_sniff` for directory files and small tar members (cheap to read)."""
    window = subject.view.open_range(member)
    if window is None:
        return
    with window:
        head = window.read(BLOCK)
        window.seek(0)
        if sniff(head, "") is not None:
            yield from _scan(member.name, window, seekable=True, disguised=True, trust=trust)


class TrustSource:
    """The :class:`Trust` of one archive, made on first use: the pickle machinery is only
    imported when an entry is (or looks) serialized (issue 15: start-up)."""

    def __init__(self, subject: Subject) -> None:
        self._subject = subject
        self._trust: Trust | None = None

    def get(self) -> Trust:
        """The archive's trust (:func:`~.archive_classes.archive_trust`)."""
        if self._trust is None:
            from mar_tools.validate.archive_classes import archive_trust

            self._trust = archive_trust(self._subject)
        return self._trust


def _scan(
    name: str, stream: IO[bytes], *, seekable: bool, trust: TrustSource, disguised: bool = False
) -> Iterator[Finding]:
    """:func:`~.pickle.scan.scan_member`, imported on first use."""
    from mar_tools.validate.pickle.scan import scan_member

    yield from scan_member(name, stream, seekable=seekable, disguised=disguised, trust=trust.get())


def _early_holds(early: object, trust: TrustSource) -> TypeGuard[EarlyScan]:
    """True when *early* is an early scan whose answers the archive's trust confirms."""
    from mar_tools.validate.early_scan import EarlyScan

    return isinstance(early, EarlyScan) and early.holds_for(trust.get())


def _not_scanned(subject: Subject, member: Member) -> Finding:
    limit = human_size(subject.options.quick_scan_limit)
    return finding(
        "pickle.not-scanned",
        f"{member.name} is a compressed zip larger than {limit}; --quick does not "
        "read it whole to find its pickles.",
        member.name,
    )


def unreadable_findings(subject: Subject) -> Iterator[Finding]:
    """One ``entry.corrupt`` per member whose bytes a check failed to read."""
    for name, reason in sorted(subject.unreadable.items()):
        if name not in subject.corrupt:
            yield finding("entry.corrupt", f"{name} cannot be read ({reason}).", name)
