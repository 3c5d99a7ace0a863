"""Facts about the launching interpreter: the one ``mar`` runs in, whose packages a
per-model environment inherits.

Read once per command from the running process, never by importing torch: the torch
version comes from ``importlib.metadata``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import site
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Host:
    """The launching environment.

    ``base_python`` is the real interpreter behind it (outside any virtualenv): new
    environments are created from it. ``site_dirs`` are the directories whose packages a
    new environment inherits, in the launching interpreter's own order; when ``mar`` runs
    inside a virtualenv they are that virtualenv's site-packages, not the base
    interpreter's (TorchServe's bug #2942 was to inherit the base ones). ``has_pip``
    says whether the inherited packages include pip, which new environments can then use
    instead of getting their own copy.
    """

    base_python: Path
    version: str
    platform: str
    cache_tag: str
    site_dirs: tuple[Path, ...]
    torch_version: str | None
    has_pip: bool = True

    @classmethod
    def current(cls) -> Host:
        """Describe the interpreter this process runs in."""
        return cls(
            base_python=base_interpreter(),
            version=sys.version,
            platform=sysconfig.get_platform(),
            cache_tag=sys.implementation.cache_tag or sys.implementation.name,
            site_dirs=inherited_site_dirs(),
            torch_version=distribution_version("torch"),
            has_pip=importlib.util.find_spec("pip") is not None,
        )


def base_interpreter() -> Path:
    """The interpreter a virtualenv made from this process would link to."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return Path(base)


def inherited_site_dirs() -> tuple[Path, ...]:
    """Existing site directories of this process: the user site (when enabled) first,
    then every prefix's site-packages, as :mod:`site` orders them at start-up."""
    candidates: list[str] = []
    if site.ENABLE_USER_SITE:
        candidates.append(site.getusersitepackages())
    candidates.extend(site.getsitepackages())
    seen: set[str] = set()
    dirs: list[Path] = []
    for candidate in candidates:
        resolved = os.path.realpath(candidate)
        if resolved not in seen and Path(resolved).is_dir():
            seen.add(resolved)
            dirs.append(Path(resolved))
    return tuple(dirs)


def distribution_version(name: str) -> str | None:
    """The installed version of distribution *name* on this process's path, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
