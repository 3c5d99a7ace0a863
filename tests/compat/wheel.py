"""Build a tiny pure-Python wheel without network or build backend, byte-identical each time.

The ``deps`` compatibility model ships one in its archive and names it in its requirements
file, so that both TorchServe and ``mar run`` install a real package offline.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping
from pathlib import Path

#: Fixed entry time: identical bytes on every build keep environment cache keys stable.
_EPOCH = (2024, 1, 1, 0, 0, 0)


def write_wheel(directory: Path, name: str, version: str, files: Mapping[str, str]) -> Path:
    """Write ``{name}-{version}-py3-none-any.whl`` holding *files* (archive path -> text).

    Returns the wheel's path. *name* must already be a normalized distribution name
    (lower case, underscores).
    """
    dist_info = f"{name}-{version}.dist-info"
    members = dict(files)
    members[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n"
    )
    members[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: mar-tools-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [
        f"{path},sha256={_digest(text.encode())},{len(text.encode())}"
        for path, text in sorted(members.items())
    ]
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    target = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, text in members.items():
            info = zipfile.ZipInfo(path, _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, text)
    return target


def _digest(data: bytes) -> str:
    raw = hashlib.sha256(data).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
