"""Keep freed memory for reuse while large archives stream through (glibc only).

Streaming a 1 GiB archive allocates and frees blocks of one to a few MiB per MiB read
(inflated pieces, tarfile's records, the scanner's chunks). glibc's malloc adapts its
thresholds to that and sometimes settles where every such block is a fresh ``mmap`` or is
handed back to the kernel at once (heap trimming): each reuse then page-faults its memory
in again, which measured 0.7-1.0 s of system time per 256 MiB of a ``.tar.gz`` (215,000
faults; 11,000 with the thresholds below). :func:`retain_freed_memory` fixes the
thresholds: blocks under :data:`MMAP_THRESHOLD` come from the heap, and up to
:data:`TRIM_THRESHOLD` of freed heap is kept instead of returned. Elsewhere (musl, macOS,
no ``mallopt``) it does nothing; it never fails.
"""

from __future__ import annotations

import sys

#: Blocks at least this large are still mapped on their own (and unmapped when freed).
MMAP_THRESHOLD = 32 << 20
#: Freed memory at the top of the heap beyond this is returned to the kernel.
TRIM_THRESHOLD = 128 << 20
#: glibc's ``mallopt`` parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_done = False


def retain_freed_memory() -> None:
    """Set glibc's malloc thresholds (see the module docstring), once per process."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return
    _done = True
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
