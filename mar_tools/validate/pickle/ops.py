"""Scan the pickles at the start of a stream without unpickling anything.

A stream holds one pickle (``pickle.dump``), or torch's legacy format: exactly the five
pickles ``torch.load`` reads (magic number, protocol, system info, the object, the storage
keys), whatever their protocol, then raw storage bytes. Pickles that directly follow one
another (each starting with ``PROTO``) are read too, up to :data:`MAX_PICKLES`.
Each pickle is simulated by :mod:`~mar_tools.validate.pickle.machine` and judged by a
:class:`~mar_tools.validate.pickle.assessment.PickleScan`.
"""

from __future__ import annotations

from typing import IO, Final

from mar_tools.core.pickle.reader import Malformed, Reader
from mar_tools.validate.pickle.assessment import PickleScan, Problem
from mar_tools.validate.pickle.machine import Global, run_pickle
from mar_tools.validate.pickle.policy import Trust

__all__ = ["Global", "Malformed", "PickleScan", "Problem", "scan_pickles"]

#: Consecutive pickles read from one stream, each starting with PROTO.
MAX_PICKLES: Final = 8
#: The first pickle of torch's legacy format (``_use_new_zipfile_serialization=False``) ...
TORCH_LEGACY_MAGIC: Final = 0x1950A86A20F9469CFC6C
#: ... after which torch reads exactly this many in all.
TORCH_LEGACY_PICKLES: Final = 5


def scan_pickles(
    stream: IO[bytes], max_bytes: int | None = None, trust: Trust | None = None
) -> PickleScan:
    """Scan the pickle at the start of *stream*, and those directly following it.

    Never raises for bad input: a parse failure is returned in :attr:`PickleScan.error`,
    and so is reaching *max_bytes*. :attr:`PickleScan.legacy` tells torch's legacy format.
    """
    scan = PickleScan(trust or Trust())
    reader = Reader(stream, max_bytes)
    limit = MAX_PICKLES
    try:
        while scan.pickles < limit:
            legacy = limit == TORCH_LEGACY_PICKLES
            if scan.pickles and not legacy and reader.peek_byte() != 0x80:  # no PROTO
                break
            value = run_pickle(reader, scan, scan.seen)
            if scan.pickles == 0 and isinstance(value, int) and value == TORCH_LEGACY_MAGIC:
                limit = TORCH_LEGACY_PICKLES
                scan.legacy = True
            scan.pickles += 1
    except Malformed as exc:
        scan.error = f"{exc} (at byte {reader.offset})"
    return scan
