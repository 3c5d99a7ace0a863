"""Writes the ``tgz`` format: ``<model-name>.tar.gz``, every entry under ``<model-name>/``.

The tar stream (PAX format, regular files only, manifest last, uid/gid 0, no user or group
names, normalized modes and timestamps) is cut into fixed-size chunks as it is produced;
the chunks are deflated in parallel into one gzip member whose header carries no name and
no timestamp, so equal inputs give equal bytes. Each source is read once, straight into
the chunk buffers.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zlib
from collections.abc import Iterator
from functools import partial
from typing import BinaryIO, Final, cast

from mar_tools.core.manifest import MANIFEST_PATH
from mar_tools.core.record import record
from mar_tools.core.reporter import Reporter
from torch_model_archiver.compression import CHUNK_SIZE, END_OF_STREAM, Backend, deflate_chunk
from torch_model_archiver.member_data import FileData, damaged, sequential
from torch_model_archiver.members import PlanEntry
from torch_model_archiver.pipeline import Pool, in_order
from torch_model_archiver.writing import EntryRecord, WriteJob, WriteSettings, changed

#: Magic, deflate, no flags, mtime 0 ("none"), no extra flags, OS "unknown" (as CPython).
GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_BLOCK: Final = tarfile.BLOCKSIZE
_RECORD: Final = tarfile.RECORDSIZE


@record
class _Piece:
    raw_size: int
    crc: int
    data: bytes
    progress: int


def write_tgz(
    job: WriteJob, out: BinaryIO, settings: WriteSettings, reporter: Reporter
) -> tuple[EntryRecord, ...]:
    """Write the gzipped tar of *job* to *out*; return the entries (sizes are tar sizes)."""
    backend = settings.backend
    if any(member.size > CHUNK_SIZE for member in job.plan.members):
        settings.deflating()
    out.write(GZIP_HEADER)
    crc = total = 0
    with Pool[_Piece](settings.jobs) as pool:
        steps = (
            pool.submit(partial(_compress, backend, chunk, progress))
            for chunk, progress in _tar_chunks(job, settings.prefix)
        )
        for piece in in_order(steps, pool.window):
            assert isinstance(piece, _Piece)
            out.write(piece.data)
            crc = backend.crc32_combine(crc, piece.crc, piece.raw_size)
            total += piece.raw_size
            reporter.advance(piece.progress)
    out.write(END_OF_STREAM)
    out.write(struct.pack("<II", crc, total & 0xFFFFFFFF))
    names = [(member.arcname, member.size) for member in job.plan.members]
    names.append((MANIFEST_PATH, len(job.manifest)))
    return tuple(
        EntryRecord(settings.prefix + name, size, size, "deflated") for name, size in names
    )


def _compress(backend: Backend, chunk: bytearray, progress: int) -> _Piece:
    packed = deflate_chunk(backend, chunk, backend.fast_level)
    return _Piece(len(chunk), backend.crc32(chunk, 0), packed, progress)


def tar_header(name: str, size: int, mode: int, mtime: float) -> bytes:
    """A PAX-format header for a regular file, owned by root, with no user or group name."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.mtime = max(0, int(mtime))
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _tar_chunks(job: WriteJob, prefix: str) -> Iterator[tuple[bytearray, int]]:
    """The tar stream in CHUNK_SIZE pieces (the last one shorter), each with how many bytes
    of archived content (files and manifest, not headers or padding) it holds."""
    buffer = _ChunkBuffer()
    for member in job.plan.members:
        yield from buffer.put(
            tar_header(prefix + member.arcname, member.size, member.mode, member.mtime)
        )
        yield from buffer.put_member(member)
        yield from buffer.put(bytes(-member.size % _BLOCK))
    manifest = job.manifest
    yield from buffer.put(
        tar_header(prefix + MANIFEST_PATH, len(manifest), 0o644, job.manifest_mtime)
    )
    yield from buffer.put(manifest, counted=True)
    yield from buffer.put(bytes(-len(manifest) % _BLOCK))
    # End of archive: two zero blocks, then zeros up to a whole record (as tarfile does).
    yield from buffer.put(bytes(2 * _BLOCK))
    yield from buffer.put(bytes(-buffer.position % _RECORD))
    yield from buffer.rest()


class _ChunkBuffer:
    """Collects the tar stream into fixed-size bytearrays, reading files directly into them."""

    def __init__(self) -> None:
        self.chunk = bytearray(CHUNK_SIZE)
        self.used = 0
        self.progress = 0
        self.position = 0

    def _full(self) -> Iterator[tuple[bytearray, int]]:
        if self.used == CHUNK_SIZE:
            yield self.chunk, self.progress
            self.chunk = bytearray(CHUNK_SIZE)
            self.used = self.progress = 0

    def put(self, data: bytes, *, counted: bool = False) -> Iterator[tuple[bytearray, int]]:
        """Append *data*; *counted* bytes are archive content (reported as progress)."""
        view = memoryview(data)
        while view:
            count = min(len(view), CHUNK_SIZE - self.used)
            self.chunk[self.used : self.used + count] = view[:count]
            self.used += count
            self.position += count
            self.progress += count if counted else 0
            view = view[count:]
            yield from self._full()

    def put_member(self, member: PlanEntry) -> Iterator[tuple[bytearray, int]]:
        """Append *member*'s bytes, read straight into the chunk buffers."""
        data, size = member.source_data, member.size
        expected = data.crc if isinstance(data, FileData) else None
        crc = 0
        with sequential(data, size, member.source) as stream:
            remaining = size
            while remaining:
                start = self.used
                room = memoryview(self.chunk)[start : start + min(remaining, CHUNK_SIZE - start)]
                count = cast(io.BufferedIOBase, stream).readinto(room)
                if not count:
                    raise changed(member.source)
                if expected is not None:
                    crc = zlib.crc32(room[:count], crc)
                self.used += count
                self.position += count
                self.progress += count
                remaining -= count
                yield from self._full()
        if expected is not None and crc != expected:
            raise damaged(member.source, crc, expected)

    def rest(self) -> Iterator[tuple[bytearray, int]]:
        if self.used:
            yield self.chunk[: self.used], self.progress
