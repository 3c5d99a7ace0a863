"""Scanning a tar.gz's large members in the pass that opens it, so they are inflated once.

A gzip'd tar is read whole when it is opened (:class:`~mar_tools.core.archive.TarView`);
a member too large to keep in memory would be inflated a second time by the content pass.
Instead, :func:`early_scan` scans every such member as it streams by, before anything else
is known: the manifest (which says whether the member is a candidate at all) and the
archive's Python sources (which say which classes a pickle may rebuild) may come later in
the tar. So the scan is speculative:

* it is made as if the member were a candidate (``scan_member`` of its name), and the
  content pass uses it only for a member it would scan that way;
* every question the scanner asks about the archive's own classes is answered "no" and
  recorded; the content pass asks the real :class:`~mar_tools.validate.pickle.policy.Trust`
  the same questions in the same order (:meth:`EarlyScan.holds_for`), and uses the findings
  only when every answer is "no" too. The scanner is a function of the bytes and of those
  answers, so the findings are then exactly what a second read would have found; otherwise
  the member is read and scanned again, as before.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import IO

from mar_tools.core.archive import Member
from mar_tools.report.finding import Finding
from mar_tools.validate.pickle.policy import Trust
from mar_tools.validate.pickle.scan import scan_member, scan_zip_chunks
from mar_tools.validate.pickle.sniffing import BLOCK, sniff, with_head
from mar_tools.validate.pickle.torch_zip import CHUNK


@dataclass(frozen=True)
class EarlyScan:
    """The findings of a member scanned during the opening pass, and the (module, name)
    questions the scan asked about the archive's classes, in order (all answered "no")."""

    findings: tuple[Finding, ...]
    asked: tuple[tuple[str, str], ...]

    def holds_for(self, trust: Trust) -> bool:
        """True when *trust* answers every recorded question "no", as the scan assumed
        (asked in the scan's order, so what answering costs happens as it would have)."""
        return not any(trust.archive_class(module, name) for module, name in self.asked)


def early_scan(member: Member, stream: IO[bytes]) -> EarlyScan:
    """Scan *member* from *stream* (a buffered reader of its bytes) as a candidate would be
    scanned (a :data:`~mar_tools.core.archive.Visit`)."""
    asked: list[tuple[str, str]] = []

    def archive_class(module: str, name: str) -> bool:
        asked.append((module, name))
        return False

    trust = Trust(archive_class)
    head = stream.read(BLOCK)
    if sniff(head, member.name) == "zip":  # a torch file: fed to the scanner as it comes
        rest = iter(lambda: stream.read(CHUNK), b"")
        found = scan_zip_chunks(member.name, itertools.chain((head,), rest), trust=trust)
    else:
        found = scan_member(member.name, with_head(head, stream), seekable=False, trust=trust)
    return EarlyScan(tuple(found), tuple(asked))
