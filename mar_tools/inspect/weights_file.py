"""A serialized file of an archive, open for random access: its description and its tensors'
bytes.

A member that can be read in place (a directory file, a STORED zip entry, a small tar
member kept in memory) is used as it is; any other (a DEFLATED entry, a large tar member)
is first copied, decompressed and checked, into an anonymous temporary file: torch zips
keep their index at the end and tensors anywhere, so they cannot be read as a stream.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any, Final, cast

from mar_tools.core.archive import READ_ERRORS, ArchiveView, Member, read_local_header
from mar_tools.core.archive.member_stream import open_member
from mar_tools.core.errors import ArchiveError
from mar_tools.inspect.serialized import (
    LegacyLayout,
    SerializedInfo,
    TorchZipLayout,
    describe,
    describe_stream,
    safetensors_layout,
)
from mar_tools.inspect.tensors import TensorInfo, dtype_named

#: Bytes per piece when tensor data is read.
PIECE: Final = 8 << 20
_SPOOL: Final = 1 << 20
#: Largest expansion of a member copied out of an archive (as ``mar validate --max-ratio``).
MAX_RATIO: Final = 200


class TooCompressed(ArchiveError):
    """A member expands so much that it is likely a decompression bomb; it is not copied."""


def check_ratio(view: ArchiveView, member: Member) -> None:
    """Raise :class:`TooCompressed` for a member of 1 MiB or more that expands more than
    :data:`MAX_RATIO` times (``mar validate``'s default ``--max-ratio``)."""
    packed = max(member.compressed_size, 1)
    if member.size >= 1 << 20 and member.size / packed > MAX_RATIO:
        raise TooCompressed(
            f"{view.path}: {member.name} expands {member.size / packed:.0f} times (more than "
            f"{MAX_RATIO}); it is not read (`mar validate` reports it)."
        )


class WeightsFile:
    """*member* of *view*, described (:attr:`info`) and open for reading tensor bytes.

    Raises :class:`TooCompressed` rather than copy a likely decompression bomb.
    """

    def __init__(self, view: ArchiveView, member: Member) -> None:
        self.member = member
        window = view.open_range(member)
        if window is None:
            check_ratio(view, member)
            spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
            try:
                with open_member(view, member) as stream:
                    shutil.copyfileobj(stream, spool, _SPOOL)
            except BaseException:
                spool.close()
                raise
            spool.seek(0)
            window = spool
        self._handle: IO[bytes] = window
        self._zip: zipfile.ZipFile | None = None
        self.info: SerializedInfo = describe(self._handle)

    def __enter__(self) -> WeightsFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._handle.close()

    def pieces(self, tensor: TensorInfo) -> Iterator[bytes] | None:
        """*tensor*'s elements in row-major order, as raw bytes in whole-element pieces;
        None when they cannot be found (an unknown layout, a storage that is not there, or
        bytes shorter than the tensor needs)."""
        dtype = dtype_named(tensor.dtype)
        span = self._storage_span(tensor)
        if dtype is None or span is None:
            return None
        start, length = span
        size = dtype.itemsize
        if tensor.is_contiguous:
            first, count = tensor.offset * size, tensor.numel * size
            if tensor.numel and first + count > length:
                return None
            return self._read(start + first, count, PIECE - PIECE % size)
        indexes = _element_indexes(tensor)
        if indexes and (min(indexes) < 0 or (max(indexes) + 1) * size > length):
            return None
        return self._gather(start, indexes, size)

    def _storage_span(self, tensor: TensorInfo) -> tuple[int, int] | None:
        """(offset in the file, length) of *tensor*'s storage."""
        layout = self.info.layout
        header = safetensors_layout(self.info)
        if header is not None:
            begin, end = header.ranges[tensor.name]
            return header.data_start + begin, end - begin
        if isinstance(layout, TorchZipLayout) and tensor.storage is not None:
            return self._zip_record(f"{layout.prefix}data/{tensor.storage}")
        if isinstance(layout, LegacyLayout) and tensor.storage is not None:
            return self._legacy_storage(layout, tensor.storage)
        return None

    def _zip_record(self, name: str) -> tuple[int, int] | None:
        if self._zip is None:
            self._zip = zipfile.ZipFile(self._handle)
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            return None
        if info.compress_type != zipfile.ZIP_STORED:
            return None  # torch stores its records; anything else is not torch's
        header = read_local_header(self._handle, info.header_offset)
        return None if header is None else (header.data_offset, info.file_size)

    def _legacy_storage(self, layout: LegacyLayout, key: str) -> tuple[int, int] | None:
        """Legacy storages follow the pickles in key order, each as an 8-byte element count
        and the elements; the dtype of each comes from the tensors that use it."""
        sizes = _legacy_itemsizes(self.info.tensors or ())
        position = layout.data_start
        for name in layout.keys:
            self._handle.seek(position)
            raw = self._handle.read(8)
            itemsize = sizes.get(name)
            if len(raw) < 8 or itemsize is None:
                return None
            length = int.from_bytes(raw, "little") * itemsize
            if name == key:
                return position + 8, length
            position += 8 + length
        return None

    def _read(self, start: int, count: int, piece: int) -> Iterator[bytes]:
        done = 0
        while done < count:
            self._handle.seek(start + done)
            data = self._handle.read(min(piece, count - done))
            if not data:
                return
            done += len(data)
            yield data

    def _gather(self, start: int, indexes: list[int], size: int) -> Iterator[bytes]:
        out = bytearray()
        for index in indexes:
            self._handle.seek(start + index * size)
            out += self._handle.read(size)
        yield bytes(out)


def describe_member(view: ArchiveView, member: Member) -> SerializedInfo:
    """What *member* is, reading as little as possible: in place when it can be, else from
    the start of its stream, else (TorchScript in a compressed entry) from a copy."""
    window = view.open_range(member)
    if window is not None:
        with window:
            return describe(window)
    with open_member(view, member) as stream:
        buffered = stream if hasattr(stream, "peek") else io.BufferedReader(cast(Any, stream))
        try:
            found = describe_stream(buffered)
        except READ_ERRORS as exc:
            raise ArchiveError(f"{view.path}: cannot read {member.name} ({exc}).") from exc
    if found is not None:
        return found
    try:
        with WeightsFile(view, member) as weights:
            return weights.info
    except TooCompressed as exc:
        return SerializedInfo("other", "zip", None, note=exc.message)


def _element_indexes(tensor: TensorInfo) -> list[int]:
    """The storage index of every element of a strided *tensor*, in row-major order."""
    indexes = [tensor.offset]
    for size, step in zip(tensor.shape, tensor.stride or (), strict=False):
        indexes = [base + k * step for base in indexes for k in range(size)]
    return indexes if tensor.numel else []


def _legacy_itemsizes(tensors: tuple[TensorInfo, ...]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for tensor in tensors:
        dtype = dtype_named(tensor.dtype)
        if tensor.storage is not None and dtype is not None:
            sizes.setdefault(tensor.storage, dtype.itemsize)
    return sizes
