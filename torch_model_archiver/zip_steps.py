"""The steps the zip writer's producer hands its consumer, in archive order: a whole small
entry, the start of a large one, a piece of it (compressed, or read from a stream), a
piece to copy in the kernel, and its end."""

from __future__ import annotations

from contextlib import ExitStack

from mar_tools.core.record import record
from torch_model_archiver.member_data import RandomAccess
from torch_model_archiver.members import PlanEntry


@record
class Small:
    """A whole small entry, read and (where that pays) compressed on a worker thread."""

    name: str
    mode: int
    mtime: float
    size: int
    crc: int
    method: int
    data: bytes


@record
class Begin:
    """A large entry starts; its bytes are at ``access.offset`` of ``access.fd`` (no
    ``access``: they arrive as chunks read from a stream, stored)."""

    member: PlanEntry
    method: int
    access: RandomAccess | None
    closer: ExitStack

    @property
    def fd(self) -> int:
        assert self.access is not None
        return self.access.fd

    def at(self, offset: int) -> int:
        """The file offset of the entry's byte *offset*."""
        assert self.access is not None
        return self.access.offset + offset


@record
class Chunk:
    """A piece of a large entry, as written: compressed (deflated), or as read from a
    stream (stored); ``raw_size`` bytes of the member, ``crc`` theirs."""

    raw_size: int
    crc: int
    data: bytes


@record
class Copy:
    """A piece of a stored entry, to be copied by the kernel when its turn comes."""

    offset: int
    size: int


class End:
    """The large entry that began last is complete."""
