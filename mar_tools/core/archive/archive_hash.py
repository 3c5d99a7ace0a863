"""The cryptographic hash that names an extraction: BLAKE3 where it is installed, else SHA-256.

An extraction is published under ``<algorithm>-<hex digest>`` of the archive bytes it was
made from (:mod:`mar_tools.core.extraction`). SHA-256 (OpenSSL, SHA-NI) hashes about
1.4 GiB/s on one core, as long as a kernel copy of the same gibibyte takes; BLAKE3 (the
optional ``blake3`` package, in the ``fast`` extra) hashes about twice as fast, and
both release the GIL on large buffers, so the hash runs on one core while the copy runs on
the other. Both are collision resistant: the name is a content key either way. The two
never mix: a digest is always stored with the name of its algorithm.
"""

from __future__ import annotations

import hashlib
from typing import Final, Protocol

#: The algorithms an extraction's name may carry, preferred first.
ALGORITHMS: Final = ("blake3", "sha256")


class ArchiveHash(Protocol):
    """A running hash (``hashlib``'s interface, which ``blake3`` shares)."""

    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...

    def hexdigest(self) -> str: ...


def preferred_algorithm() -> str:
    """``blake3`` when the ``blake3`` package can be imported, else ``sha256``."""
    try:
        import blake3  # noqa: F401 - an optional speed-up
    except ImportError:
        return "sha256"
    return "blake3"


def new_hash(algorithm: str) -> ArchiveHash:
    """A fresh hash of *algorithm* (one of :data:`ALGORITHMS`); ``ImportError`` for
    ``blake3`` when the package is absent, ``ValueError`` for any other name."""
    if algorithm == "blake3":
        from blake3 import blake3  # an optional speed-up

        return blake3()
    if algorithm == "sha256":
        return hashlib.sha256()
    raise ValueError(f"unknown archive hash {algorithm!r}")


def parse_name(text: str) -> str | None:
    """*text* when it is a well-formed extraction name (``<algorithm>-<64 hex digits>``),
    else None. A bare 64-digit hex digest (written by versions before BLAKE3 was used) is
    a SHA-256 digest: ``sha256-<hex>``."""
    algorithm, _, digest = text.rpartition("-")
    if not algorithm:
        algorithm = "sha256"
    if algorithm not in ALGORITHMS or len(digest) != 64:
        return None
    return f"{algorithm}-{digest}" if all(c in "0123456789abcdef" for c in digest) else None
