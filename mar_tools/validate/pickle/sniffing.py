"""What a file is, from its first bytes: the cheap first step of the pickle scan.

:func:`sniff` and :func:`is_candidate` decide whether :func:`~.scan.scan_member` (and the
pickle machinery it imports) is needed at all; this module imports none of it, so that
checking an archive without serialized files stays cheap (issue 15: start-up); nor is
:mod:`tarfile` imported before a whole header is there to check.
"""

from __future__ import annotations

import io
from typing import IO, Final, Literal

from mar_tools.core.archive import Member

BLOCK: Final = 512
#: What parsing a tar header raises besides :class:`tarfile.TarError`.
HEADER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    ValueError,
    UnicodeError,
    OverflowError,
)
SERIALIZED_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt", ".joblib", ".pt2")
TEXT_PICKLE_SUFFIXES = (".pkl", ".pickle")
ZIP_HEADS = (b"PK\x03\x04", b"PK\x05\x06")
Sniffed = Literal["zip", "tar", "pickle", "text-pickle"]


def is_candidate(member: Member, serialized_file: str | None) -> bool:
    """True for files worth scanning: known suffixes, and the manifest's serializedFile."""
    if member.kind != "file":
        return False
    return member.name.lower().endswith(SERIALIZED_SUFFIXES) or member.name == serialized_file


def sniff(head: bytes, name: str) -> Sniffed | None:
    """What a file's first bytes say it is, or None (nothing to scan).

    A tar archive is only recognised from a whole header (:data:`BLOCK` bytes).
    ``"text-pickle"`` (protocol 0 or 1, which have no ``PROTO``) is only considered for a
    named serialized file: pass ``name=""`` to look for the other kinds only.
    """
    if head.startswith(ZIP_HEADS):
        return "zip"
    if is_tar(head):
        return "tar"
    if binary_pickle(head):
        return "pickle"
    if name and head and _opcode(head[0]):
        return "text-pickle"
    return None


def is_tar(head: bytes) -> bool:
    """True when *head* starts with a tar header that :mod:`tarfile` (and so ``torch.load``)
    accepts as the first member: a right checksum (octal or base-256) and valid fields."""
    block = head[:BLOCK]
    if len(block) < BLOCK or not _checksum_may_parse(block[148:156]):
        return False
    import tarfile

    try:
        tarfile.TarInfo.frombuf(block, tarfile.ENCODING, "surrogateescape")
    except tarfile.TarError:  # tarfile.HeaderError is one
        return False
    except HEADER_ERRORS:
        return False
    return True


#: Every byte that tarfile's reading of a checksum field (``int(text.strip(), 8)`` of the
#: ASCII before the first NUL) can accept, and some it cannot: a field with any other byte
#: fails tarfile's own test, so a header is only given to :mod:`tarfile` (and the module
#: imported) when this cheap test passes.
_CHECKSUM_BYTES = b"01234567_+-oO \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _checksum_may_parse(field: bytes) -> bool:
    """False when tarfile would refuse the checksum field *field* of a header: neither
    base-256 (first byte 0x80 or 0xff) nor made of :data:`_CHECKSUM_BYTES` up to a NUL."""
    if field[0] in (0o200, 0o377):
        return True
    return not field.split(b"\0", 1)[0].translate(None, _CHECKSUM_BYTES)


def binary_pickle(head: bytes) -> bool:
    """True when *head* starts with a ``PROTO`` opcode of protocol 2 to 5."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def with_head(head: bytes, stream: IO[bytes]) -> io.BufferedReader:
    """A stream of *head* and then the rest of *stream* (from which *head* was read)."""
    return io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 20)


class _Prefixed(io.RawIOBase):
    """*head*, then the rest of *stream*."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            memoryview(buffer)[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._stream.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)


def _opcode(byte: int) -> bool:
    """True when *byte* is a pickle opcode (the opcode table is imported on first use)."""
    from mar_tools.core.pickle.opcodes import OPS

    return byte in OPS
