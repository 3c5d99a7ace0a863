"""torch's legacy tar format (``torch.save`` before 0.4), which ``torch.load`` still reads.

Given a file (not a stream) whose first 512 bytes are a valid tar header, ``torch.load``
opens it as a tar archive and unpickles three members, whatever else the file is:

* ``storages``: a pickle (the count), then per storage a pickle ``(key, location,
  storage_type)``, an int64 element count and the raw elements; then a pickle of views;
* ``tensors``: a pickle (the count), then per tensor a pickle ``(key, storage_id, type)``,
  an int32 ``ndim``, 4 bytes, ``ndim`` int64 sizes and strides, an int64 offset;
* ``pickle``: the object, whose persistent ids refer to the above.

Every pickle is scanned; raw bytes are skipped by the sizes the pickles state. Members of
those names that are links are refused (torch would read the file they point to), and so
is a tar file that :mod:`tarfile` fails to read past its first header.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Final

from mar_tools.core.pickle.reader import Malformed, Reader
from mar_tools.validate.pickle.assessment import PickleScan, Problem
from mar_tools.validate.pickle.machine import Global, Tup, run_pickle
from mar_tools.validate.pickle.policy import Trust
from mar_tools.validate.pickle.sniffing import HEADER_ERRORS
from mar_tools.validate.pickle.torch_names import STORAGES

#: What reading a (damaged) legacy tar file raises.
TAR_ERRORS: tuple[type[BaseException], ...] = (tarfile.TarError, *HEADER_ERRORS)


@dataclass
class LegacyTar:
    """The scans of a legacy tar file's members, and problems with its structure."""

    scans: list[tuple[str, PickleScan]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def scan_legacy_tar(stream: IO[bytes], trust: Trust) -> LegacyTar:
    """Scan the members ``torch.load`` unpickles from the tar archive read from *stream*."""
    result = LegacyTar()
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                walk = _WALKS.get(member.name)
                if walk is None:
                    continue
                if not member.isfile():
                    result.problems.append(
                        Problem(
                            "pickle.unscannable",
                            f"has a tar member {member.name!r} that is a link or special "
                            "file; torch.load would unpickle what it points to.",
                        )
                    )
                    continue
                data = archive.extractfile(member)
                if data is not None:
                    result.scans.append((member.name, _walk(walk, data, trust)))
    except TAR_ERRORS as exc:
        # torch.load may still read what tarfile read before failing, or fall back to
        # reading the file as pickles: what could not be followed is not vouched for.
        message = f"cannot be read as torch's legacy tar format ({exc or type(exc).__name__})."
        result.problems.append(Problem("pickle.unscannable", message))
    return result


def _walk(walk: Callable[[Reader, PickleScan], None], data: IO[bytes], trust: Trust) -> PickleScan:
    scan = PickleScan(trust)
    reader = Reader(data)
    try:
        walk(reader, scan)
    except Malformed as exc:
        scan.error = f"{exc} (at byte {reader.offset})"
    return scan


def _one(reader: Reader, scan: PickleScan) -> object:
    value = run_pickle(reader, scan, scan.seen)
    scan.pickles += 1
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or value < 0:
        raise Malformed("the count of records is not a literal number")
    return value


def _storages(reader: Reader, scan: PickleScan) -> None:
    for index in range(_count(_one(reader, scan))):
        args = _one(reader, scan)
        kind = args.items[2] if isinstance(args, Tup) and len(args.items) == 3 else None
        size = STORAGES.get(kind.full, 0) if isinstance(kind, Global) else 0
        if not size:
            raise Malformed(f"storage {index} does not name a typed storage class")
        count = int.from_bytes(reader.read(8), "little", signed=True)
        if count < 0:
            raise Malformed(f"storage {index} has a negative size")
        reader.skip(count * size)
    _one(reader, scan)  # the views


def _tensors(reader: Reader, scan: PickleScan) -> None:
    for index in range(_count(_one(reader, scan))):
        _one(reader, scan)
        ndim = int.from_bytes(reader.read(4), "little", signed=True)
        if ndim < 0:
            raise Malformed(f"tensor {index} has a negative number of dimensions")
        reader.skip(4 + 16 * ndim + 8)


def _object(reader: Reader, scan: PickleScan) -> None:
    _one(reader, scan)


_WALKS: Final[dict[str, Callable[[Reader, PickleScan], None]]] = {
    "storages": _storages,
    "tensors": _tensors,
    "pickle": _object,
}
