"""The files that make a directory a mar-tools virtualenv.

* :class:`VenvLayout`: where things are inside a virtualenv.
* Inheritance: the launching environment's packages, behind the environment's own. A
  ``.pth`` file in the new environment's site-packages calls :func:`site.addsitedir` for
  each inherited directory. Python processes it after the environment's own site-packages
  is on ``sys.path``, so the environment's packages win, and ``addsitedir`` also processes
  the inherited directories' own ``.pth`` files (editable installs such as mar-tools' own,
  ``distutils-precedence.pth``), which a plain path line would skip.
* Relocation: renaming a finished environment, the absolute paths its text files hold must
  follow. Installers write the environment's absolute path into console-script shebangs,
  activation scripts and (virtualenv) the ``command`` line of ``pyvenv.cfg``. An
  environment is built under a temporary name and renamed into place when complete, so
  those files are rewritten to the final path just before the rename. The interpreter
  itself needs nothing: it finds its prefix from ``pyvenv.cfg`` next to it, and Python
  corrects the file names recorded in bytecode caches when it imports them.
* The record (``mar-env.json``) written into every finished environment. Its presence is
  what makes an environment trusted: it is written after the last install step and before
  the build directory is renamed into place, so a directory under its final name always
  holds a complete environment.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mar_tools.core.fs import write_atomically


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


#: Scripts are small text files; anything larger or binary is left alone.
MAX_SCRIPT_BYTES = 1 << 20


def relocate(build: Path, final: Path, scripts: Path) -> list[Path]:
    """Replace *build* by *final* in the text files of *scripts* and in ``pyvenv.cfg``;
    return the files changed."""
    candidates = sorted(scripts.iterdir()) if scripts.is_dir() else []
    candidates.append(build / "pyvenv.cfg")
    old, new = str(build).encode(), str(final).encode()
    changed: list[Path] = []
    for path in candidates:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SCRIPT_BYTES:
            continue
        content = path.read_bytes()
        if b"\0" in content[:1024] or old not in content:
            continue
        mode = path.stat().st_mode
        path.write_bytes(content.replace(old, new))
        path.chmod(mode)
        changed.append(path)
    return changed


RECORD_NAME = "mar-env.json"


@dataclass(frozen=True)
class EnvRecord:
    """What an environment is and where it came from."""

    key: str
    model: str
    created: str
    installer: str
    python: str
    torch: str | None
    requirements: str | None
    format: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> EnvRecord:
        """Build a record from parsed JSON; raise ``ValueError`` when a field is missing."""
        try:
            return cls(
                key=str(data["key"]),
                model=str(data["model"]),
                created=str(data["created"]),
                installer=str(data["installer"]),
                python=str(data["python"]),
                torch=None if data.get("torch") is None else str(data["torch"]),
                requirements=None
                if data.get("requirements") is None
                else str(data["requirements"]),
                format=int(data["format"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete environment record: {exc}") from exc


def write_record(root: Path, record: EnvRecord) -> Path:
    """Write *record* into environment *root* atomically (see :func:`write_atomically`)."""
    target = root / RECORD_NAME
    # Not durable: after a power loss an empty record makes the environment untrusted, and
    # the next run builds it again.
    write_atomically(target, record.to_json().encode("utf-8"), durable=False)
    return target


def read_record(root: Path) -> EnvRecord | None:
    """The record of environment *root*, or None when it is missing or unreadable."""
    try:
        data = json.loads((root / RECORD_NAME).read_text(encoding="utf-8"))
        return EnvRecord.from_mapping(data) if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
