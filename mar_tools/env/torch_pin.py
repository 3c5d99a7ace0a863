"""Keeping the inherited torch: the constraint pip gets, and the checks that name a
requirement asking for another torch.

A per-model environment never installs torch: it uses the launching environment's, which
matches the machine's CUDA (or CPU) build and is gigabytes to download. pip gets a
constraint file pinning torch to the inherited version, so a ``torch>=x`` requirement is
satisfied by what is there and a conflicting one fails. Direct requirements are checked
here first, before anything is installed, so the error names the requirement and its line;
this includes another torch given by URL or file (``torch @ https://...``, a ``torch-*.whl``),
which pip would download before finding the conflict and uv would silently leave out.
"""

from __future__ import annotations

import email.parser
import posixpath
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from mar_tools.core.requirements import NamedRequirement

TORCH = "torch"


@dataclass(frozen=True)
class TorchConflict:
    """A requirement that the inherited torch does not satisfy."""

    requirement: str
    origin: str

    def describe(self, torch_version: str) -> str:
        return (
            f"{self.origin} asks for '{self.requirement}', which conflicts with torch "
            f"{torch_version} from the launching environment."
        )


def constraint_text(torch_version: str | None) -> str:
    """The constraints file pip gets: torch pinned to the inherited version (or nothing)."""
    return f"{TORCH}=={torch_version}\n" if torch_version else ""


def direct_conflicts(
    named: Iterable[NamedRequirement], torch_version: str | None
) -> list[TorchConflict]:
    """Requirements (and constraints) written in the requirements files that ask for a
    torch other than *torch_version*. Lines that do not parse are left to pip."""
    if torch_version is None:
        return []
    found = []
    for item in named:
        requirement = _parse(item.text)
        if requirement is not None and not _accepts(requirement, torch_version):
            found.append(TorchConflict(item.text, item.origin))
    return found


def installed_conflicts(site_packages: Path, torch_version: str | None) -> list[TorchConflict]:
    """Packages installed in *site_packages* whose metadata asks for a torch other than
    *torch_version* (used after installers that do not check it themselves)."""
    if torch_version is None:
        return []
    found = []
    parser = email.parser.HeaderParser()
    for metadata in sorted(site_packages.glob("*.dist-info/METADATA")):
        headers = parser.parsestr(metadata.read_text(encoding="utf-8", errors="replace"))
        package = f"{headers.get('Name', metadata.parent.name)} {headers.get('Version', '')}"
        for text in headers.get_all("Requires-Dist") or []:
            requirement = _parse(text)
            if requirement is None or (
                requirement.marker is not None and not (requirement.marker.evaluate({"extra": ""}))
            ):
                continue
            if not _accepts(requirement, torch_version):
                found.append(TorchConflict(str(requirement), package.strip()))
    return found


def _parse(text: str) -> Requirement | None:
    """The torch requirement *text* states (by name, ``name @ url``, or a wheel's path or
    URL), or None for anything else."""
    requirement = None if "@" in text else _wheel_requirement(text)
    if requirement is None:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            return None
    return requirement if canonicalize_name(requirement.name) == TORCH else None


def _wheel_requirement(text: str) -> Requirement | None:
    """``name==version`` of a wheel given by path or URL, from its file name (its
    environment marker kept)."""
    location, semicolon, marker = text.partition(";")
    location = location.split("#", 1)[0].strip()
    filename = posixpath.basename(urllib.parse.unquote(location.replace("\\", "/")))
    if not filename.endswith(".whl"):
        return None
    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
        return Requirement(f"{name}=={version}{semicolon}{marker}")
    except (InvalidWheelFilename, InvalidVersion, InvalidRequirement):
        return None


def _accepts(requirement: Requirement, torch_version: str) -> bool:
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
        return True
    if requirement.url:
        return False
    try:
        version = Version(torch_version)
    except InvalidVersion:
        return True
    return requirement.specifier.contains(version, prereleases=True)
