"""Facts about the launching interpreter: the one ``mar`` runs in, whose packages a
per-model environment inherits.

Read once per command from the running process, never by importing torch: the torch
version comes from its ``.dist-info`` in the inherited site directories.
"""

from __future__ import annotations

import importlib.util
import os
import re
import site
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_DIST_INFO = ".dist-info"


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
        site_dirs = inherited_site_dirs()
        return cls(
            base_python=base_interpreter(),
            version=sys.version,
            platform=sysconfig.get_platform(),
            cache_tag=sys.implementation.cache_tag or sys.implementation.name,
            site_dirs=site_dirs,
            torch_version=distribution_version("torch", site_dirs),
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


def distribution_version(name: str, site_dirs: Sequence[Path] | None = None) -> str | None:
    """The installed version of distribution *name*, or None.

    Looked up in *site_dirs* (default: :func:`inherited_site_dirs`) in order, from the
    ``.dist-info`` directories there: a listing, not ``importlib.metadata``, which costs
    every run that finds its environment ~11 ms to import. Only when none has it (a
    development install of the ``setup.py develop`` kind) is ``importlib.metadata`` asked.
    """
    wanted = _normalized(name)
    for directory in inherited_site_dirs() if site_dirs is None else site_dirs:
        try:
            entries = sorted(path.name for path in directory.iterdir())
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(_DIST_INFO):
                continue
            dist, _, version = entry[: -len(_DIST_INFO)].partition("-")
            if _normalized(dist) == wanted:
                return _metadata_version(directory / entry) or version or None
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _metadata_version(dist_info: Path) -> str | None:
    """The ``Version`` header of *dist_info*'s ``METADATA`` (None when unreadable)."""
    try:
        with open(dist_info / "METADATA", encoding="utf-8", errors="replace") as metadata:
            for line in metadata:
                if not line.strip():
                    break  # the headers end at the first empty line
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None
