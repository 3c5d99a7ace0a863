"""Zip structure as TorchServe's reader sees it.

Python's zipfile (and ``unzip``) trust the central directory at the end of the file;
TorchServe's Java frontend extracts with ``java.util.zip.ZipInputStream``, which ignores
the central directory and reads local headers from the first byte on. An archive is only
unambiguous when both views agree: every entry's local header matches its directory
record, entries follow each other with no bytes in between, none overlap, and there is
nothing before the first one. ZipInputStream also refuses STORED entries whose sizes
come in a data descriptor, and anything but STORED or DEFLATED.

:func:`layout_problems` reports each disagreement (``mar validate`` and extraction alike);
:func:`entry_spans` gives where each entry's bytes are, which a reader that goes through the
archive from its first byte to its last follows.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from typing import IO

from mar_tools.core.archive.member import Member
from mar_tools.core.archive.problem import Problem
from mar_tools.core.archive.zip_records import LocalHeader
from mar_tools.core.archive.zip_view import ZipView
from mar_tools.core.record import record

DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
UTF8_FLAG = 0x800
ENCRYPTED_FLAG = 0x1
DESCRIPTOR_FLAG = 0x8
SUPPORTED_METHODS = {0: "STORED", 8: "DEFLATED"}


@record
class Span:
    """The bytes one entry occupies: local header, data and data descriptor (to ``end``)."""

    member: Member
    header: LocalHeader
    end: int

    @property
    def data_end(self) -> int:
        return self.header.data_offset + self.member.compressed_size


def entry_spans(view: ZipView) -> list[Span]:
    """The entries that have a local header, in file order."""
    spans: list[Span] = []
    with io.BufferedReader(view.archive.reader(), buffer_size=4096) as handle:
        for member in view.members:
            header = view.local_headers.get(member.index)
            if header is not None:
                spans.append(Span(member, header, _entry_end(handle, member, header)))
    return sorted(spans, key=lambda span: span.header.offset)


def layout_problems(view: ZipView) -> Iterator[Problem]:
    """Header/directory disagreements, gaps, overlaps and unreadable methods."""
    for member in view.members:
        yield from _entry_problems(view, member)
        header = view.local_headers.get(member.index)
        if header is None:
            yield Problem(
                "zip.header-mismatch",
                f"no local header at offset {member.header_offset}.",
                member.name,
            )
            continue
        yield from _compare(view, member, header)
    yield from _gaps(entry_spans(view), view)


def _entry_problems(view: ZipView, member: Member) -> Iterator[Problem]:
    name = member.name
    info = view.infos[member.index]
    if member.encrypted:
        yield Problem("entry.encrypted", f"{name} is encrypted.", name)
    if member.compress_type not in SUPPORTED_METHODS:
        yield Problem(
            "entry.unsupported-compression",
            f"{name} uses compression method {member.compress_type}; TorchServe reads only "
            "STORED (0) and DEFLATED (8).",
            name,
        )
    if member.compress_type == 0 and member.flag_bits & DESCRIPTOR_FLAG:
        yield Problem(
            "zip.stored-data-descriptor",
            f"{name} is STORED with a data descriptor; TorchServe's ZipInputStream fails "
            "with 'only DEFLATED entries can have EXT descriptor'.",
            name,
        )
    if not member.flag_bits & UTF8_FLAG and not info.orig_filename.isascii():
        yield Problem(
            "zip.name-encoding",
            f"{name!r} has non-ASCII characters but no UTF-8 flag; Python reads it as "
            "cp437, TorchServe as UTF-8.",
            name,
            fatal=False,
        )


def _compare(view: ZipView, member: Member, header: LocalHeader) -> Iterator[Problem]:
    info = view.infos[member.index]
    raw = _raw_name(info.orig_filename, member.flag_bits)
    problems: list[str] = []
    if header.name_bytes != raw:
        local = header.name_bytes.decode("utf-8", "backslashreplace")
        problems.append(f"the local header names it {local!r}")
    if header.method != member.compress_type:
        problems.append(f"method {header.method} locally, {member.compress_type} in the index")
    if (header.flag_bits ^ member.flag_bits) & (ENCRYPTED_FLAG | DESCRIPTOR_FLAG):
        problems.append("encryption or data-descriptor flags differ")
    declared = (member.crc, member.compressed_size, member.size)
    local_values = (header.crc, header.compressed_size, header.size)
    if header.crc is not None and local_values != declared:
        problems.append("CRC or sizes differ")
    if problems:
        yield Problem("zip.header-mismatch", f"{'; '.join(problems)}.", member.name)


def _raw_name(name: str, flags: int) -> bytes:
    try:
        return name.encode("utf-8" if flags & UTF8_FLAG else "cp437")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape")


def _entry_end(handle: IO[bytes], member: Member, header: LocalHeader) -> int:
    """Where the entry ends: after its data and, when flagged, its data descriptor."""
    data_end = header.data_offset + member.compressed_size
    if not header.flag_bits & DESCRIPTOR_FLAG:
        return data_end
    handle.seek(data_end)
    signed = handle.read(4) == DESCRIPTOR_SIGNATURE
    wide = header.zip64 or member.compressed_size >= 0xFFFFFFFF or member.size >= 0xFFFFFFFF
    return data_end + (4 if signed else 0) + (20 if wide else 12)


def _gaps(spans: list[Span], view: ZipView) -> Iterator[Problem]:
    if not spans and view.central_directory_offset > 0:
        yield _hidden(view, 0, view.central_directory_offset, "before the central directory")
    if spans and spans[0].header.offset > 0:
        first = spans[0]
        yield Problem(
            "zip.prefix-data",
            f"{first.header.offset} bytes come before the first entry; TorchServe's reader "
            "finds no entries.",
        )
    for previous, current in itertools.pairwise(spans):
        if current.header.offset < previous.end:
            yield Problem(
                "zip.overlap",
                f"{current.member.name} starts inside {previous.member.name} "
                f"(offset {current.header.offset} < {previous.end}).",
                current.member.name,
            )
        elif current.header.offset > previous.end:
            yield _hidden(
                view, previous.end, current.header.offset, f"after {previous.member.name}"
            )
    if spans and spans[-1].end < view.central_directory_offset:
        last = spans[-1]
        yield _hidden(view, last.end, view.central_directory_offset, f"after {last.member.name}")
    elif spans and spans[-1].end > view.central_directory_offset:
        last = spans[-1]
        yield Problem(
            "zip.overlap",
            f"{last.member.name} runs into the central directory "
            f"(to offset {last.end} > {view.central_directory_offset}).",
            last.member.name,
        )


def _hidden(view: ZipView, start: int, stop: int, where: str) -> Problem:
    with view.archive.reader(start, 4) as handle:
        head = handle.read(4)
    what = "a local header the index does not list" if head == b"PK\x03\x04" else "unlisted bytes"
    return Problem(
        "zip.hidden-data",
        f"{stop - start} bytes {where} hold {what}; TorchServe's streaming reader sees a "
        "different archive than the index.",
    )
