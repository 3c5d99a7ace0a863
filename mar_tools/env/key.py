"""The cache key of a per-model environment: a hash of everything its content depends on.

Two models, or two runs, with the same key get the same environment. The key covers the
requirements file's bytes, the bytes of every local file it makes pip read (nested ``-r``
and ``-c`` files, wheels, sdists, package directories, ``--find-links`` directories), the
interpreter (version, platform, the base executable the environment links to), the
launching environment's site directories and torch version, and :data:`FORMAT_VERSION`.

Where packages come from (``--index-url``, ``--find-links`` given on the command line,
``--pip-option``) and which installer builds it are *not* in the key: they say how to
obtain what the requirements ask for, and a CI warm-up with ``mar env create --find-links
...`` must be reused by a plain ``mar run``. ``--rebuild-env`` refreshes an environment
after an index changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mar_tools.core.model_files import ModelFiles
from mar_tools.core.requirements import RequirementsSet
from mar_tools.env.host import Host

#: Bump when the layout or the way environments are built changes incompatibly.
FORMAT_VERSION = 1
#: Length of the key in directory names (64 bits: collisions are not a practical concern).
SHORT = 16
#: Directory entries that builds add to a package directory (setuptools builds in place),
#: left out so that installing from a directory does not change the directory's key.
BUILD_LITTER = ("__pycache__", "build", ".eggs")
CHUNK = 1 << 20


@dataclass(frozen=True)
class EnvKey:
    """A computed key: ``digest`` (sha256 hex) and the ``inputs`` that produced it."""

    digest: str
    inputs: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def short(self) -> str:
        """The prefix used in directory names."""
        return self.digest[:SHORT]


def compute_key(host: Host, requirements: RequirementsSet | None, files: ModelFiles) -> EnvKey:
    """Hash *host* and the content of *requirements* (None: an environment without any)."""
    inputs: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "python": {
            "version": host.version,
            "platform": host.platform,
            "cache_tag": host.cache_tag,
            "base": str(host.base_python),
        },
        "inherited": [str(path) for path in host.site_dirs],
        "torch": host.torch_version,
        "requirements": None if requirements is None else _content(requirements, files),
    }
    blob = json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()
    return EnvKey(hashlib.sha256(blob).hexdigest(), inputs)


def _content(requirements: RequirementsSet, files: ModelFiles) -> list[dict[str, Any]]:
    entries = []
    for reference in requirements.references:
        digest: str | None = None
        if reference.kind == "file":
            digest = file_digest(files, reference.name).hex()
        elif reference.kind == "dir":
            digest = tree_digest(files, reference.name)
        entries.append(
            {
                "name": reference.name,
                "role": reference.role,
                "kind": reference.kind,
                "sha256": digest,
            }
        )
    return entries


def tree_digest(files: ModelFiles, name: str) -> str:
    """One hash over every file (relative name and bytes) under directory *name*."""
    outer = hashlib.sha256()
    prefix = name.rstrip("/") + "/" if name not in ("", ".") else ""
    for member in files.walk(name):
        relative = member[len(prefix) :] if member.startswith(prefix) else member
        if _is_litter(relative):
            continue
        outer.update(relative.encode() + b"\0")
        outer.update(file_digest(files, member))
    return outer.hexdigest()


def file_digest(files: ModelFiles, name: str) -> bytes:
    """SHA-256 of file *name*, read in chunks (a wheel may be large)."""
    digest = hashlib.sha256()
    with files.open(name) as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.digest()


def _is_litter(relative: str) -> bool:
    parts = relative.split("/")
    if parts[0] in BUILD_LITTER:
        return True
    return any(part == "__pycache__" or part.endswith(".egg-info") for part in parts)
