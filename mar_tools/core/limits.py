"""Decompression limits: one set of bounds on what an archive may expand to.

``mar validate`` reports an archive that crosses one (``limits.*`` findings); extraction
(``mar run``, ``mar env create``, and anything else that unpacks through
:mod:`mar_tools.core.archive.extractor`) refuses it with :class:`LimitExceeded` before it
writes the byte that would cross it. The three limits, their flags and environment
variables:

============  ===============  ===================  =====================================
limit         flag             environment          what is counted
============  ===============  ===================  =====================================
total-size    ``--max-size``   ``MAR_MAX_SIZE``     bytes the members expand to, in all
ratio         ``--max-ratio``  ``MAR_MAX_RATIO``    expanded / compressed bytes (see below)
entry-count   ``--max-entries`` ``MAR_MAX_ENTRIES`` members (files, directories, links)
============  ===============  ===================  =====================================

The ratio of a zip is per entry (its declared size over its compressed size). The members
of a tar.gz are compressed together, so its ratio is the archive's: the bytes it expands to
(the larger of what its headers declare, sparse members included, and what the gzip stream
inflates to) over the archive's size on disk. Either way only expansions of at least
:attr:`Limits.ratio_min_size` bytes count: small text files legitimately compress far better
than model weights.
"""

from __future__ import annotations

from typing import Final, Literal

from mar_tools.core.errors import ArchiveError
from mar_tools.core.record import record
from mar_tools.core.sizes import human_size

MiB: Final = 1 << 20
GiB: Final = 1 << 30

LimitName = Literal["total-size", "ratio", "entry-count"]
#: The command-line flag that raises each limit (``mar validate``, ``mar run``, ``mar env create``).
FLAGS: Final[dict[LimitName, str]] = {
    "total-size": "--max-size",
    "ratio": "--max-ratio",
    "entry-count": "--max-entries",
}
#: The environment variable that raises each limit when the flag is not given.
ENV_VARS: Final[dict[LimitName, str]] = {
    "total-size": "MAR_MAX_SIZE",
    "ratio": "MAR_MAX_RATIO",
    "entry-count": "MAR_MAX_ENTRIES",
}


class LimitExceeded(ArchiveError):
    """An archive expands past one of the :class:`Limits` (a likely decompression bomb).

    ``limit`` names it and ``code`` is the matching ``mar validate`` finding code; ``detail``
    is the message without the archive's name (what ``mar validate`` reports), ``member``
    the entry it concerns, if one. Exit code 3,
    like every unsafe archive; the hint names the flag that raises the limit.
    """

    def __init__(
        self, limit: LimitName, detail: str, where: str = "", member: str | None = None
    ) -> None:
        super().__init__(
            f"{where}: {detail}" if where else detail,
            hint=f"if the archive is trusted and really this large, raise the limit with "
            f"{FLAGS[limit]} (or {ENV_VARS[limit]}).",
        )
        self.limit = limit
        self.detail = detail
        self.member = member

    @property
    def code(self) -> str:
        return f"limits.{self.limit}"


@record
class Limits:
    """The bounds (defaults: 256 GiB in all, 200:1 for 1 MiB or more, 100,000 entries).

    Each check returns the :class:`LimitExceeded` to raise or report (None when the value is
    allowed); *where* is the archive's name, put before the message.
    """

    max_total_size: int = 256 * GiB
    max_ratio: float = 200.0
    ratio_min_size: int = 1 * MiB
    max_entries: int = 100_000

    def entry_count(self, count: int, where: str = "") -> LimitExceeded | None:
        """Too many entries? (*count* is all of them, or the first one past the limit.)"""
        if count <= self.max_entries:
            return None
        return LimitExceeded(
            "entry-count",
            f"the archive has {count} entries; the limit is {self.max_entries}.",
            where,
        )

    def total_size(self, total: int, where: str = "") -> LimitExceeded | None:
        """Do the members expand to too many bytes? (*total*: in all, or so far.)"""
        if total <= self.max_total_size:
            return None
        return LimitExceeded(
            "total-size",
            f"the entries expand to {human_size(total)} or more; the limit is "
            f"{human_size(self.max_total_size)}.",
            where,
        )

    def ratio(
        self, expanded: int, compressed: int, what: str, where: str = "", member: str | None = None
    ) -> LimitExceeded | None:
        """Does *what* (entry *member*, or "the archive") expand too much: *expanded* bytes
        made of *compressed* ones?"""
        if expanded < self.ratio_min_size:
            return None
        ratio = expanded / max(compressed, 1)
        if ratio <= self.max_ratio:
            return None
        return LimitExceeded(
            "ratio",
            f"{what} expands {ratio:.0f}:1 ({human_size(compressed)} to "
            f"{human_size(expanded)}); the limit is {self.max_ratio:g}:1.",
            where,
            member,
        )


class TarMeter:
    """The running limits of one tar.gz read from start to end (listing or extracting).

    Call :meth:`member` for each header and :meth:`inflated` with the gzip stream's running
    output; each raises :class:`LimitExceeded` as soon as a limit is crossed, so a bomb is
    stopped within one read buffer of the limit, never after writing it out.
    """

    def __init__(self, limits: Limits, archive_size: int, where: str) -> None:
        self.limits = limits
        self.archive_size = archive_size
        self.where = where
        self.entries = 0
        self.declared = 0
        self.stream = 0

    def member(self, size: int) -> None:
        """Count one member declaring *size* bytes (a sparse member's full size)."""
        self.entries += 1
        self.declared += max(size, 0)
        self._check()

    def inflated(self, total: int) -> None:
        """Record that the gzip stream has inflated to *total* bytes so far."""
        self.stream = total
        self._check()

    def _check(self) -> None:
        expanded = max(self.declared, self.stream)
        error = (
            self.limits.entry_count(self.entries, self.where)
            or self.limits.total_size(expanded, self.where)
            or self.limits.ratio(expanded, self.archive_size, "the archive", self.where)
        )
        if error is not None:
            raise error
