"""Zip structure as TorchServe's reader sees it.

Python's zipfile (and ``unzip``) trust the central directory at the end of the file;
TorchServe's Java frontend extracts with ``java.util.zip.ZipInputStream``, which ignores
the central directory and reads local headers from the first byte on. An archive is only
unambiguous when both views agree: every entry's local header matches its directory
record, entries follow each other with no bytes in between, none overlap, and there is
nothing before the first one. ZipInputStream also refuses STORED entries whose sizes
come in a data descriptor, and anything but STORED or DEFLATED.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from mar_tools.core.archive import LocalHeader, Member, ZipView
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding

DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
UTF8_FLAG = 0x800
ENCRYPTED_FLAG = 0x1
DESCRIPTOR_FLAG = 0x8
SUPPORTED_METHODS = {0: "STORED", 8: "DEFLATED"}


@dataclass(frozen=True)
class Span:
    """The bytes one entry occupies: local header, data and data descriptor."""

    member: Member
    header: LocalHeader
    end: int


def check_layout(view: ZipView) -> Iterator[Finding]:
    """Findings for header/directory disagreements, gaps, overlaps and unreadable methods."""
    spans: list[Span] = []
    with open(view.path, "rb") as handle:
        for member in view.members:
            yield from _entry_findings(view, member)
            header = view.local_headers.get(member.index)
            if header is None:
                yield finding(
                    "zip.header-mismatch",
                    f"no local header at offset {member.header_offset}.",
                    member.name,
                )
                continue
            yield from _compare(view, member, header)
            spans.append(Span(member, header, _entry_end(handle, member, header)))
    yield from _gaps(sorted(spans, key=lambda s: s.header.offset), view)


def _entry_findings(view: ZipView, member: Member) -> Iterator[Finding]:
    name = member.name
    info = view.infos[member.index]
    if member.encrypted:
        yield finding("entry.encrypted", f"{name} is encrypted.", name)
    if member.compress_type not in SUPPORTED_METHODS:
        yield finding(
            "entry.unsupported-compression",
            f"{name} uses compression method {member.compress_type}; TorchServe reads only "
            "STORED (0) and DEFLATED (8).",
            name,
        )
    if member.compress_type == 0 and member.flag_bits & DESCRIPTOR_FLAG:
        yield finding(
            "zip.stored-data-descriptor",
            f"{name} is STORED with a data descriptor; TorchServe's ZipInputStream fails "
            "with 'only DEFLATED entries can have EXT descriptor'.",
            name,
        )
    if not member.flag_bits & UTF8_FLAG and not info.orig_filename.isascii():
        yield finding(
            "zip.name-encoding",
            f"{name!r} has non-ASCII characters but no UTF-8 flag; Python reads it as "
            "cp437, TorchServe as UTF-8.",
            name,
        )


def _compare(view: ZipView, member: Member, header: LocalHeader) -> Iterator[Finding]:
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
        yield finding(
            "zip.header-mismatch",
            f"{'; '.join(problems)}.",
            member.name,
        )


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


def _gaps(spans: list[Span], view: ZipView) -> Iterator[Finding]:
    if spans and spans[0].header.offset > 0:
        first = spans[0]
        yield finding(
            "zip.prefix-data",
            f"{first.header.offset} bytes come before the first entry; TorchServe's reader "
            "finds no entries.",
        )
    for previous, current in itertools.pairwise(spans):
        if current.header.offset < previous.end:
            yield finding(
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


def _hidden(view: ZipView, start: int, stop: int, where: str) -> Finding:
    with open(view.path, "rb") as handle:
        handle.seek(start)
        head = handle.read(4)
    what = "a local header the index does not list" if head == b"PK\x03\x04" else "unlisted bytes"
    return finding(
        "zip.hidden-data",
        f"{stop - start} bytes {where} hold {what}; TorchServe's streaming reader sees a "
        "different archive than the index.",
    )
