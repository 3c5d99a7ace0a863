"""The C allocator's settings for a process that streams or compresses large archives.

Streaming a large archive allocates and frees blocks of one to a few MiB per MiB read or
written: the compressor's output and the pieces joined into one chunk (archiving), inflated
pieces, tarfile's records and the scanner's chunks (a full ``mar validate``). With glibc's
adaptive defaults such a freed block goes back to the kernel at once (heap trimming) or is
mapped afresh, and each reuse page-faults its memory in again: building a 512 MiB float32
state dict cost about 130,000 page faults, a quarter of the build's CPU time in the kernel,
and a full check of a 256 MiB ``.tar.gz`` 215,000 faults and up to a second of system time
(issue 15's profiles). :func:`keep_freed_buffers` fixes glibc's thresholds so that such
blocks come from, and return to, memory the process keeps: the pipelines bound how many are
alive at once, so the resident size stays that of their window.

The settings are process-wide, so the library never applies them itself: the commands do
(``torch-model-archiver`` and ``mar repack`` for the formats that compress, ``mar validate``
in full mode). Only glibc is tuned (``mallopt``); elsewhere, or when the user set any
``MALLOC_*_`` variable of glibc's own (their choice wins), nothing changes. No output ever
depends on it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

#: glibc's ``mallopt`` parameter numbers (``malloc.h``).
M_TRIM_THRESHOLD: Final = -1
M_MMAP_THRESHOLD: Final = -3
#: Allocations below this come from the heap (glibc's largest allowed value on 64 bits).
MMAP_THRESHOLD: Final = 32 << 20
#: Free memory at the top of a heap is given back to the kernel only above this.
TRIM_THRESHOLD: Final = 128 << 20
#: glibc's environment settings of the same thresholds: when one is set, we stay out.
_USER_SETTINGS: Final = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_buffers(environ: Mapping[str, str] | None = None) -> bool:
    """Make glibc keep freed MiB-sized buffers for reuse; True when it was changed.

    Does nothing (False) on a C library other than glibc, or when *environ* (default
    ``os.environ``) sets one of glibc's own allocator variables (or a ``glibc.malloc`` tunable).
    """
    env = os.environ if environ is None else environ
    user_set = any(name in env for name in _USER_SETTINGS)
    if user_set or "glibc.malloc." in env.get("GLIBC_TUNABLES", "") or not _glibc():
        return False
    import ctypes  # only here: ~3 ms, paid only by builds that compress

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # The mmap threshold first: setting the trim threshold alone would pin it at 128 KiB.
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


def _glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError, AttributeError):
        return False
