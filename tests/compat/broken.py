"""Hand-made archives that TorchServe 0.12 refuses to load, each broken in one way.

Every case starts from the same small, valid archive (:data:`CONTROL`, which TorchServe
loads) and changes one thing: a missing or wrong handler, a bad manifest or config, an
entry that escapes the model directory. The suite registers each in the real TorchServe and
runs ``mar validate`` on it: both must refuse.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HANDLER = "broken_handler.py"
MANIFEST = "MAR-INF/MANIFEST.json"
GOOD_HANDLER = b"def handle(data, context):\n    return data\n"


def manifest(**model: str) -> bytes:
    """An upstream-style manifest for handler ``broken_handler.py`` plus *model* fields."""
    fields: dict[str, Any] = {
        "createdOn": "01/02/2024 03:04:05",
        "runtime": "python",
        "model": {"modelName": "broken", "handler": HANDLER, "modelVersion": "1.0", **model},
        "archiverVersion": "0.12.0",
    }
    return json.dumps(fields, indent=2).encode()


@dataclass(frozen=True)
class BrokenArchive:
    """A named archive: its members (name -> bytes) and whether it is a .tar.gz."""

    name: str
    why: str
    members: Mapping[str, bytes]
    tgz: bool = False

    @property
    def url(self) -> str:
        """File name in the model store (and TorchServe registration URL)."""
        return f"{self.name}.tar.gz" if self.tgz else f"{self.name}.mar"

    def write(self, directory: Path) -> Path:
        """Write the archive into *directory*; returns its path."""
        target = directory / self.url
        if self.tgz:
            with tarfile.open(target, "w:gz") as bundle:
                for name, data in self.members.items():
                    info = tarfile.TarInfo(f"{self.name}/{name}")
                    info.size = len(data)
                    bundle.addfile(info, io.BytesIO(data))
        else:
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
                for name, data in self.members.items():
                    bundle.writestr(name, data)
        return target


def _case(
    name: str, why: str, changes: Mapping[str, bytes | None] | None = None, tgz: bool = False
) -> BrokenArchive:
    """The control archive with *changes* applied (member -> new bytes, None removes it)."""
    members: dict[str, bytes] = {HANDLER: GOOD_HANDLER, MANIFEST: manifest()}
    for member, value in (changes or {}).items():
        if value is None:
            members.pop(member, None)
        else:
            members[member] = value
    # The manifest stays the last member, as archivers write it.
    ordered = {k: v for k, v in members.items() if k != MANIFEST}
    if MANIFEST in members:
        ordered[MANIFEST] = members[MANIFEST]
    return BrokenArchive(f"broken-{name}", why, ordered, tgz)


CONFIG = "model-config.yaml"
TWO_CLASSES = b"""\
class A:
    def handle(self, data, context):
        return data


class B:
    pass
"""
NO_HANDLE = b"""\
class A:
    def initialize(self, context):
        pass
"""

#: The valid archive every case is derived from: TorchServe loads it, mar validate passes it.
CONTROL = _case("control", "nothing (the control case)")

CASES: tuple[BrokenArchive, ...] = (
    _case("handler-missing", "the manifest's handler file is not in the archive", {HANDLER: None}),
    _case("handler-two-classes", "the handler defines two classes", {HANDLER: TWO_CLASSES}),
    _case("handler-no-handle", "the handler's only class has no handle()", {HANDLER: NO_HANDLE}),
    _case(
        "handler-syntax-error",
        "the handler does not parse",
        {HANDLER: b"def handle(data, context)\n    return data\n"},
    ),
    _case("manifest-missing", "there is no MAR-INF/MANIFEST.json", {MANIFEST: None}),
    _case("manifest-not-json", "the manifest is not JSON", {MANIFEST: b"{runtime"}),
    _case(
        "manifest-bad-runtime",
        "the runtime is not python, python3 or LSP",
        {MANIFEST: manifest().replace(b'"python"', b'"ruby"')},
    ),
    _case(
        "manifest-no-model",
        "the manifest has no model section",
        {MANIFEST: json.dumps({"runtime": "python"}, indent=2).encode()},
    ),
    _case(
        "config-empty",
        "configFile names an empty YAML file",
        {CONFIG: b"", MANIFEST: manifest(configFile=CONFIG)},
    ),
    _case(
        "config-not-a-mapping",
        "configFile is a YAML list",
        {CONFIG: b"- 1\n- 2\n", MANIFEST: manifest(configFile=CONFIG)},
    ),
    _case(
        "config-missing",
        "configFile names a file that is not in the archive",
        {MANIFEST: manifest(configFile=CONFIG)},
    ),
    _case(
        "requirements-missing",
        "requirementsFile names a file that is not in the archive",
        {MANIFEST: manifest(requirementsFile="requirements.txt")},
    ),
    _case("zip-slip", "a member climbs out of the model directory", {"../evil.txt": b"out"}),
    _case(
        "tgz-slip",
        "a tar member climbs out of the model directory",
        {"../../evil.txt": b"out"},
        tgz=True,
    ),
)
