"""Every position of a 4-byte signature in a buffer: how local headers are found in the
inflated bytes of a torch file (issue 15).

``bytes.find`` looks at every byte while holding the GIL (about 0.57 ms a MiB of weights
here), so on an archive of several large entries the searches of all threads queue behind
one another. Where numpy is installed (the ``fast`` extra), the buffer is compared as
little-endian 16-bit words at both alignments against the signature's first two bytes, and
the few candidates are checked for the other two: about three times faster, and numpy lets
other threads run meanwhile. Both ways give the same positions, in order (a test compares
them).

Importing numpy costs about 0.1 s of CPU, what ``bytes.find`` spends on some 200 MiB, so it
is imported only once :data:`NUMPY_AFTER` bytes have been searched in this process: small
archives never pay for it, large ones soon earn it back.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any, Final

#: Bytes searched with ``bytes.find`` before numpy is imported (where it is installed).
NUMPY_AFTER: Final = 128 << 20
#: Buffers shorter than this are searched with ``bytes.find`` even once numpy is loaded.
VECTOR_MIN: Final = 64 << 10

#: Read by OpenBLAS, numpy's BLAS, when numpy is imported (see :func:`_import_numpy`).
_BLAS_THREADS: Final = "OPENBLAS_NUM_THREADS"
_numpy_lock = threading.Lock()
_numpy: ModuleType | None = None
_numpy_tried = False
#: Bytes searched so far with ``bytes.find`` (a heuristic: races only move the switch).
_searched = 0


def signature_positions(
    data: bytes | memoryview, signature: bytes, *, vectorised: bool | None = None
) -> list[int]:
    """Offsets of every occurrence of the 4-byte *signature* in *data*, ascending
    (overlapping occurrences included).

    *vectorised* None: numpy for large buffers once enough has been searched (see the
    module's doc) where it is installed; False: ``bytes.find`` only; True: numpy whatever
    the size (it must be installed).
    """
    global _searched
    if len(signature) != 4:
        raise ValueError("the signature must be 4 bytes")
    numpy = None
    if vectorised or (vectorised is None and len(data) >= VECTOR_MIN and _searched >= NUMPY_AFTER):
        numpy = _load_numpy()
        if numpy is None and vectorised:
            raise ModuleNotFoundError("numpy is not installed")
    if numpy is not None:
        return _positions_by_words(numpy, data, signature)
    _searched += len(data)
    return occurrences(bytes(data) if isinstance(data, memoryview) else data, signature)


def occurrences(data: bytes | bytearray, needle: bytes) -> list[int]:
    """Every position of *needle* (of any length) in *data*, overlapping ones included, by
    ``bytes.find``."""
    found = []
    position = data.find(needle)
    while position >= 0:
        found.append(position)
        position = data.find(needle, position + 1)
    return found


def _positions_by_words(numpy: ModuleType, data: bytes | memoryview, signature: bytes) -> list[int]:
    octets = numpy.frombuffer(data, dtype=numpy.uint8)
    first_two = int.from_bytes(signature[:2], "little")
    scratch = _scratch(numpy, len(octets))
    hits = []
    for shift in (0, 1):
        count = (len(octets) - shift) // 2
        if count <= 0:
            continue
        if shift:
            # An odd start is copied to aligned memory first: numpy compares aligned words
            # several times faster than it buffers unaligned ones.
            aligned = scratch.copy[: 2 * count]
            numpy.copyto(aligned, octets[1 : 1 + 2 * count])
        else:
            aligned = octets[: 2 * count]
        matches = scratch.matches[:count]
        numpy.equal(aligned.view("<u2"), first_two, out=matches)
        if not matches.any():
            continue
        starts = numpy.flatnonzero(matches) * 2 + shift
        starts = starts[starts <= len(octets) - 4]
        whole = (octets[starts + 2] == signature[2]) & (octets[starts + 3] == signature[3])
        hits.extend(starts[whole].tolist())
    hits.sort()
    return hits


class _Scratch(threading.local):
    """Each thread's reusable arrays: no fresh memory (and page faults) for every chunk,
    whatever the process's allocator does with freed blocks."""

    copy: Any = None
    matches: Any = None


_scratches = _Scratch()


def _scratch(numpy: ModuleType, size: int) -> _Scratch:
    """This thread's scratch arrays, grown to hold *size* bytes."""
    scratch = _scratches
    if scratch.copy is None or len(scratch.copy) < size:
        scratch.copy = numpy.empty(size, dtype=numpy.uint8)
        scratch.matches = numpy.empty(size // 2 + 1, dtype=numpy.bool_)
    return scratch


def _load_numpy() -> ModuleType | None:
    """numpy, imported once (by whichever thread asks first), or None without it."""
    global _numpy, _numpy_tried
    if _numpy_tried:
        return _numpy
    with _numpy_lock:
        if not _numpy_tried:
            _numpy = _import_numpy()
            _numpy_tried = True
    return _numpy


def _import_numpy() -> ModuleType | None:
    """Import numpy with its BLAS on one thread unless the user chose otherwise: the search
    needs no BLAS, and OpenBLAS starting a thread per core costs more CPU than the rest of
    numpy's import (0.13-0.21 s of CPU against 0.06-0.09 s here) while the inflating threads
    want every core. A numpy already imported is left as it is."""
    import os

    unset = _BLAS_THREADS not in os.environ
    if unset:
        os.environ[_BLAS_THREADS] = "1"
    try:
        import numpy
    except ImportError:
        return None
    finally:
        if unset:
            os.environ.pop(_BLAS_THREADS, None)
    return numpy
