"""Writes the ``default`` and ``zip-store`` formats: a flat ZIP, manifest last.

Each source is read once, in large pieces, and goes straight into the archive. Per entry:

* up to :data:`SMALL_ENTRY` bytes: read and (``default``) compressed whole on a worker thread,
  stored if that does not shrink it;
* larger, stored (``zip-store``, or three samples say deflate saves under 1%): copied by the
  kernel, its CRC computed from the bytes written (``range_copy.py``), its data aligned in
  the file from :data:`ALIGNED_MIN` bytes on (``zip_format.aligned``); a member of another
  archive that must be inflated (``mar repack``) is written as it is read;
* larger, deflated: cut into chunks compressed in parallel into one stream; if the result is
  not smaller than the input after all, the entry is rewritten stored (the only case where
  a source is read twice).

The local header is written first with zero sizes and patched in place once the data is
out, so no data descriptor is ever needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import BinaryIO, Final, Literal

from mar_tools.core.manifest import MANIFEST_PATH
from mar_tools.core.record import replace
from mar_tools.core.reporter import Reporter
from torch_model_archiver.compression import (
    CHUNK_SIZE,
    END_OF_STREAM,
    SAMPLE_SIZE,
    SMALL_ENTRY,
    deflate_chunk,
    deflate_small,
    worth_deflating,
)
from torch_model_archiver.member_data import (
    FileData,
    RandomAccess,
    StreamData,
    changed,
    check_size,
    damaged,
    random_access,
    read_whole,
    sequential,
)
from torch_model_archiver.members import PlanEntry
from torch_model_archiver.pipeline import Future, Pool, in_order
from torch_model_archiver.range_copy import RangeCopier
from torch_model_archiver.writing import (
    EntryRecord,
    WriteJob,
    WriteSettings,
    read_at,
)
from torch_model_archiver.zip_format import (
    DEFLATED,
    STORED,
    ZipEntry,
    aligned,
    dos_datetime,
    encode_name,
    end_of_central_directory,
)
from torch_model_archiver.zip_steps import Begin, Chunk, Copy, End, Small

#: Piece size for stored data: bigger pieces, fewer calls (the output does not depend on it).
STORE_CHUNK: Final = 4 << 20
#: Stored entries copied by the kernel from this size on start their data aligned (the
#: padding, under 64 KiB, is then under 0.4% of the entry).
ALIGNED_MIN: Final = 16 << 20


def write_zip(
    job: WriteJob, out: BinaryIO, settings: WriteSettings, reporter: Reporter
) -> tuple[EntryRecord, ...]:
    """Write the archive of *job* to the empty seekable *out*; return what was written."""
    writer = _ZipWriter(out, settings)
    try:
        with Pool[object](settings.jobs) as pool:
            writer.copier = RangeCopier(out.fileno(), pool, settings.backend)
            for step in in_order(writer.steps(job, pool), pool.window):
                reporter.advance(writer.take(step))
        writer.write_central_directory()
    finally:
        writer.close_sources()
    return tuple(writer.records)


class _ZipWriter:
    def __init__(self, out: BinaryIO, settings: WriteSettings) -> None:
        self.out = out
        self.settings = settings
        self.backend = settings.backend
        self.entries: list[ZipEntry] = []
        self.records: list[EntryRecord] = []
        self.open_sources: list[ExitStack] = []
        self.current: ZipEntry | None = None
        self.current_begin: Begin | None = None
        self.copier: RangeCopier | None = None
        self.copies: list[tuple[Future[int], int]] = []
        self.data_start = 0

    # --- producing: runs in the consumer's thread, submits the reading to the pool ---

    def steps(self, job: WriteJob, pool: Pool[object]) -> Iterator[object]:
        for member in job.plan.members:
            if member.size <= SMALL_ENTRY:
                yield pool.submit(partial(self._small_from_file, member))
                continue
            if not self.settings.deflate and isinstance(member.source_data, StreamData):
                yield from self._streamed(member, pool)
                continue
            closer = ExitStack()
            self.open_sources.append(closer)
            access = closer.enter_context(
                random_access(member.source_data, member.size, member.source)
            )
            deflate = self.settings.deflate and self._worth_deflating(access, member)
            begin = Begin(member, DEFLATED if deflate else STORED, access, closer)
            yield begin
            if deflate:
                self.settings.deflating()
                for offset in range(0, member.size, CHUNK_SIZE):
                    size = min(CHUNK_SIZE, member.size - offset)
                    task = partial(self._deflated_chunk, access.fd, size, begin.at(offset),
                                   member.source)  # fmt: skip
                    yield pool.submit(task)
            else:
                for offset in range(0, member.size, STORE_CHUNK):
                    yield Copy(offset, min(STORE_CHUNK, member.size - offset))
            yield End()
        yield pool.submit(
            partial(self._small, MANIFEST_PATH, 0o644, job.manifest_mtime, job.manifest)
        )

    def _streamed(self, member: PlanEntry, pool: Pool[object]) -> Iterator[object]:
        """A large member read from a stream into a stored entry, as it comes: nothing to
        decide (zip-store deflates nothing), so no temporary copy is needed."""
        closer = ExitStack()
        self.open_sources.append(closer)
        stream = closer.enter_context(sequential(member.source_data, member.size, member.source))
        yield Begin(member, STORED, None, closer)
        remaining = member.size
        while remaining:
            data = stream.read(min(STORE_CHUNK, remaining))
            if not data:
                raise changed(member.source)
            remaining -= len(data)
            # A future, so that the pipeline's window bounds how much is read ahead.
            yield pool.submit(partial(self._stored_chunk, data))
        if stream.read(1):
            raise changed(member.source)
        yield End()

    def _stored_chunk(self, data: bytes) -> Chunk:
        return Chunk(len(data), self.backend.crc32(data, 0), data)

    def _small_from_file(self, member: PlanEntry) -> Small:
        raw = read_whole(member.source_data, member.size, member.source)
        small = self._small(member.arcname, member.mode, member.mtime, raw)
        expected = member.source_data.crc if isinstance(member.source_data, FileData) else None
        if expected is not None and small.crc != expected:
            raise damaged(member.source, small.crc, expected)
        return small

    def _small(self, name: str, mode: int, mtime: float, raw: bytes) -> Small:
        crc = self.backend.crc32(raw, 0)
        packed = deflate_small(raw) if self.settings.deflate and raw else raw
        if len(packed) < len(raw):
            return Small(name, mode, mtime, len(raw), crc, DEFLATED, packed)
        return Small(name, mode, mtime, len(raw), crc, STORED, raw)

    def _worth_deflating(self, access: RandomAccess, member: PlanEntry) -> bool:
        last = member.size - SAMPLE_SIZE
        offsets = sorted({0, last // 2 // 4096 * 4096, last})
        samples = [
            read_at(access.fd, SAMPLE_SIZE, access.offset + offset, member.source)
            for offset in offsets
        ]
        return worth_deflating(self.backend, samples, self.backend.fast_level)

    def _deflated_chunk(self, fd: int, size: int, offset: int, source: Path) -> Chunk:
        data = read_at(fd, size, offset, source)
        packed = deflate_chunk(self.backend, data, self.backend.fast_level)
        return Chunk(size, self.backend.crc32(data, 0), packed)

    # --- consuming: strictly in archive order ---

    def take(self, step: object) -> int:
        """Write one step; return how many input bytes it accounted for."""
        if isinstance(step, Small):
            return self._write_small(step)
        if isinstance(step, Begin):
            self._begin(step)
            return 0
        if isinstance(step, Chunk):
            self._write_chunk(step)
            return step.raw_size
        if isinstance(step, Copy):
            self._copy(step)
            return step.size
        if isinstance(step, End):
            self._end()
            return 0
        raise TypeError(f"unexpected step {step!r}")

    def _entry(self, name: str, method: int, mode: int, mtime: float, size: int) -> ZipEntry:
        encoded, flags = encode_name(name)
        dos_time, dos_date = dos_datetime(mtime, utc=self.settings.utc)
        offset, zip64 = self.out.tell(), ZipEntry.needs_zip64(size)
        return ZipEntry(encoded, flags, method, dos_time, dos_date, mode, offset, zip64)

    def _write_small(self, small: Small) -> int:
        entry = self._entry(small.name, small.method, small.mode, small.mtime, small.size)
        entry = _sized(entry, small.crc, len(small.data), small.size)
        self.out.write(entry.local_header())
        self.out.write(small.data)
        self._record(entry, small.name)
        return small.size

    def _begin(self, begin: Begin) -> None:
        member = begin.member
        self.current_begin = begin
        self.current = self._entry(
            member.arcname, begin.method, member.mode, member.mtime, member.size
        )
        if begin.method == STORED and begin.access is not None and member.size >= ALIGNED_MIN:
            self.current = aligned(self.current)
        self.out.write(self.current.local_header())
        if begin.method == STORED:
            self.out.flush()  # the data goes straight to the file descriptor
            self.data_start = self.out.tell()
            self.copies = []

    def _copy(self, step: Copy) -> None:
        assert self.copier is not None and self.current_begin is not None
        begin = self.current_begin
        future = self.copier.copy(
            begin.fd,
            begin.at(step.offset),
            step.size,
            self.data_start + step.offset,
            begin.member.source,
        )
        self.copies.append((future, step.size))

    def _write_chunk(self, chunk: Chunk) -> None:
        assert self.current is not None
        entry = self.current
        crc = self.backend.crc32_combine(entry.crc, chunk.crc, chunk.raw_size)
        self.out.write(chunk.data)
        self.current = _sized(
            entry, crc, entry.compressed_size + len(chunk.data), entry.file_size + chunk.raw_size
        )

    def _end(self) -> None:
        assert self.current is not None and self.current_begin is not None
        entry, begin = self.current, self.current_begin
        member = begin.member
        if begin.access is None:
            pass  # streamed: the chunks sized the entry and combined its CRC
        elif entry.method == STORED:
            crc = 0
            for future, size in self.copies:
                crc = self.backend.crc32_combine(crc, future.result(), size)
            self.out.seek(self.data_start + member.size)
            entry = _sized(entry, crc, member.size, member.size)
        else:
            self.out.write(END_OF_STREAM)
            entry = _sized(entry, entry.crc, entry.compressed_size + 2, entry.file_size)
            if entry.compressed_size >= entry.file_size:
                entry = self._restore_stored(entry, begin)
        if begin.access is not None:
            check_size(begin.access, member.source)
            if begin.access.crc is not None and entry.crc != begin.access.crc:
                raise damaged(member.source, entry.crc, begin.access.crc)
        end = self.out.tell()
        self.out.seek(entry.offset)
        self.out.write(entry.local_header())
        self.out.seek(end)
        self._record(entry, member.arcname)
        if self.copier is not None and begin.access is not None:
            self.copier.forget(begin.fd)
        begin.closer.close()
        self.open_sources.remove(begin.closer)
        self.current = self.current_begin = None

    def _restore_stored(self, entry: ZipEntry, begin: Begin) -> ZipEntry:
        """Replace a deflated entry that came out bigger than its input by a stored one."""
        data_start = entry.offset + len(entry.local_header())
        self.out.seek(data_start)
        self.out.truncate()
        crc = 0
        for offset in range(0, begin.member.size, STORE_CHUNK):
            size = min(STORE_CHUNK, begin.member.size - offset)
            data = read_at(begin.fd, size, begin.at(offset), begin.member.source)
            crc = self.backend.crc32(data, crc)
            self.out.write(data)
        return replace(_sized(entry, crc, begin.member.size, begin.member.size), method=STORED)

    def _record(self, entry: ZipEntry, name: str) -> None:
        self.entries.append(entry)
        method: Literal["deflated", "stored"] = "deflated" if entry.method == DEFLATED else "stored"
        self.records.append(EntryRecord(name, entry.file_size, entry.compressed_size, method))

    def write_central_directory(self) -> None:
        start = self.out.tell()
        for entry in self.entries:
            self.out.write(entry.central_header())
        size = self.out.tell() - start
        self.out.write(end_of_central_directory(len(self.entries), start, size))

    def close_sources(self) -> None:
        for closer in self.open_sources:
            closer.close()
        self.open_sources.clear()


def _sized(entry: ZipEntry, crc: int, compressed: int, size: int) -> ZipEntry:
    return replace(entry, crc=crc, compressed_size=compressed, file_size=size)
