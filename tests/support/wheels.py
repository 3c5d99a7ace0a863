"""Small, real distributions written by the tests themselves (no network, no build step).

:func:`write_wheel` writes a pure-Python wheel as a zip with proper ``METADATA``, ``WHEEL``
and ``RECORD`` (sha256 of every file), which pip and uv install like any other. Its bytes
depend only on the arguments (fixed entry times and modes), so that environment cache keys
computed from an archive that ships one are stable from run to run.
:func:`write_sdist` writes a setuptools source tree packed as ``.tar.gz``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Entry time of every member: identical bytes on every call.
_EPOCH = (2024, 1, 1, 0, 0, 0)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def write_wheel(
    directory: Path,
    name: str,
    version: str,
    files: Mapping[str, str],
    requires: Sequence[str] = (),
    scripts: Mapping[str, str] | None = None,
) -> Path:
    """Write ``<name>-<version>-py3-none-any.whl`` into *directory*; return its path.

    *name* is the distribution name (``-`` becomes ``_`` in the file name); *files* maps
    archive paths (``pkg/__init__.py``) to their text; *requires* are ``Requires-Dist``
    lines; *scripts* maps console script names to ``module:function``.
    """
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = "\n".join(
        ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
        + [f"Requires-Dist: {r}" for r in requires]
    )
    wheel_meta = (
        "Wheel-Version: 1.0\nGenerator: mar-tools-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    entries: dict[str, bytes] = {path: text.encode() for path, text in files.items()}
    entries[f"{info}/METADATA"] = (metadata + "\n").encode()
    entries[f"{info}/WHEEL"] = wheel_meta.encode()
    if scripts:
        lines = ["[console_scripts]", *(f"{k} = {v}" for k, v in scripts.items()), ""]
        entries[f"{info}/entry_points.txt"] = "\n".join(lines).encode()
    record_lines = [f"{path},{_record_hash(data)},{len(data)}" for path, data in entries.items()]
    record_lines.append(f"{info}/RECORD,,")
    entries[f"{info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    target = directory / f"{dist}-{version}-py3-none-any.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries.items():
            member = zipfile.ZipInfo(path, _EPOCH)
            member.external_attr = 0o644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, data)
    return target


def write_sdist(directory: Path, name: str, version: str, module_text: str) -> Path:
    """Write ``<name>-<version>.tar.gz``: a setuptools project with one module *name*."""
    dist = name.replace("-", "_")
    root = f"{dist}-{version}"
    members = {
        f"{root}/pyproject.toml": (
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n\n'
            f'[tool.setuptools]\npy-modules = ["{dist}"]\n'
        ),
        f"{root}/{dist}.py": module_text,
        f"{root}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    target = directory / f"{root}.tar.gz"
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as archive:
        for path, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return target
