"""The C allocator's settings for a process that compresses large inputs.

Every deflated chunk allocates a few buffers of about a MiB (the compressor's output, the
pieces joined into one chunk) on a pool thread, and the writer frees them soon after. With
glibc's adaptive defaults the freed memory at the top of each thread's heap goes back to
the kernel at once and is faulted in again for the next chunk: building a 512 MiB float32
state dict cost about 130,000 page faults, a quarter of the build's CPU time spent in the
kernel (issue 15's profile). :func:`keep_freed_buffers` fixes glibc's thresholds so that
such buffers come from, and return to, memory the process keeps: the pipeline's window
bounds how many are alive at once, so the resident size stays that of the window.

The settings are process-wide, so the library never applies them itself: the
``torch-model-archiver`` command does for the formats that compress, and so does ``mar
repack`` to them. Only glibc is tuned (``mallopt``); elsewhere, or when the user set any
``MALLOC_*_`` variable of glibc's own (their choice wins), nothing changes. The archive's
bytes never depend on it.
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
