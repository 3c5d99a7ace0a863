"""Lend packages of this venv to another interpreter (the upstream torchserve venv).

:func:`build_overlay` links the files of some distributions, and of everything they
require, into a directory to append to the other interpreter's ``PYTHONPATH``: package
directories, single-file modules and ``.dist-info`` directories (libraries such as
transformers check their dependencies' versions through ``importlib.metadata``).
Distributions the other venv already has are left out, so its own copies stay in use.
"""

from __future__ import annotations

import importlib.metadata as metadata
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def _closure(roots: Iterable[str]) -> dict[str, metadata.Distribution]:
    """*roots* and their install requirements (no extras), by canonical name."""
    found: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in found:
            continue
        try:
            found[name] = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional or platform-specific requirement that is not installed
        for line in found[name].requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def _installed_in(site_packages: Path) -> set[str]:
    return {
        canonicalize_name(dist.metadata["Name"])
        for dist in metadata.distributions(path=[str(site_packages)])
    }


def build_overlay(target: Path, roots: Iterable[str], other_site_packages: Path) -> Path:
    """Fill *target* with links to the files of *roots* (and their requirements) that the
    venv of *other_site_packages* lacks; return *target*."""
    target.mkdir(parents=True, exist_ok=True)
    present = _installed_in(other_site_packages)
    for name, dist in sorted(_closure(roots).items()):
        if name in present:
            continue
        base = Path(str(dist.locate_file("")))
        for entry in {Path(str(file)).parts[0] for file in dist.files or ()}:
            if entry in ("..", "__pycache__") or entry.endswith(".pth"):
                continue
            link = target / entry
            if not link.exists() and (base / entry).exists():
                link.symlink_to(base / entry)
    return target
