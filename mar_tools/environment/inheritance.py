"""Giving a new virtualenv the launching environment's packages, its own ones first.

A ``.pth`` file in the new environment's site-packages calls :func:`site.addsitedir` for
each inherited directory. Python processes it after the environment's own site-packages
is on ``sys.path``, so the environment's packages win, and ``addsitedir`` also processes
the inherited directories' own ``.pth`` files (editable installs such as mar-tools'
own, ``distutils-precedence.pth``), which a plain path line would skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: Sorted after every other ``.pth`` file, so that paths added by the environment's own
#: ``.pth`` files (editable installs) also come before the inherited ones.
PTH_NAME = "zz_mar_inherited.pth"


def pth_text(site_dirs: Sequence[Path]) -> str:
    """The ``.pth`` file content for *site_dirs* (one ``import`` line each)."""
    lines = ["# Written by mar-tools: the launching environment's packages, after this one's."]
    lines += [f"import site; site.addsitedir({str(path)!r})" for path in site_dirs]
    return "\n".join(lines) + "\n"


def write_inheritance(site_packages: Path, site_dirs: Sequence[Path]) -> Path:
    """Write the ``.pth`` file into *site_packages*; return its path."""
    site_packages.mkdir(parents=True, exist_ok=True)
    target = site_packages / PTH_NAME
    target.write_text(pth_text(site_dirs), encoding="utf-8")
    return target
