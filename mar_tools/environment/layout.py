"""Where things are inside a virtualenv."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VenvLayout:
    """The paths of a virtualenv: its root, interpreter, site-packages and scripts."""

    root: Path
    python: Path
    site_packages: Path
    scripts: Path

    @classmethod
    def standard(cls, root: Path) -> VenvLayout:
        """The layout CPython virtualenvs have on this platform, computed from *root*."""
        if os.name == "nt":
            scripts = root / "Scripts"
            return cls(root, scripts / "python.exe", root / "Lib" / "site-packages", scripts)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        scripts = root / "bin"
        return cls(root, scripts / "python", root / "lib" / version / "site-packages", scripts)
