"""Putting on disk just what an installer reads from an archive, for ``mar env create``.

pip installs from the model directory, so the requirements file and the local files it
references must exist as files. ``mar run`` has the whole archive extracted already;
``mar env create`` extracts only these few members into a temporary directory instead
(names are checked like any extraction: nothing lands outside the directory).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from mar_tools.archive import ArchiveView, unsafe_name_reason
from mar_tools.environment.model_files import ArchiveFiles, is_outside
from mar_tools.environment.requirements import RequirementsSet
from mar_tools.errors import ArchiveError
from mar_tools.manifest import MANIFEST_PATH, Manifest


def read_manifest(view: ArchiveView) -> Manifest:
    """The archive's manifest; :class:`ArchiveError` when it has none."""
    member = view.find(MANIFEST_PATH)
    if member is None:
        raise ArchiveError(f"{view.path}: no {MANIFEST_PATH}; this is not a model archive.")
    return Manifest.parse(view.read(member), source=f"{view.path}:{MANIFEST_PATH}")


def read_model_config(view: ArchiveView, manifest: Manifest) -> Mapping[str, Any]:
    """The parsed model-config.yaml the manifest names, or ``{}`` (as TorchServe's backend
    reads it: ``yaml.safe_load``; a file that does not parse to a mapping counts as empty)."""
    name = manifest.model.config_file
    member = view.find(name) if name else None
    if member is None:
        return {}
    try:
        loaded = yaml.safe_load(view.read(member))
    except yaml.YAMLError as exc:
        raise ArchiveError(f"{view.path}: {name} is not valid YAML ({exc}).") from exc
    return loaded if isinstance(loaded, dict) else {}


def stage_requirements(view: ArchiveView, requirements: RequirementsSet, dest: Path) -> list[str]:
    """Extract the members *requirements* reads into *dest*; return their names."""
    files = ArchiveFiles(view)
    written = []
    for name in _members(files, requirements):
        reason = unsafe_name_reason(name)
        if reason is not None:
            raise ArchiveError(f"{view.path}: refusing to extract {name!r}: {reason}.")
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files.read(name))
        written.append(name)
    return written


def _members(files: ArchiveFiles, requirements: RequirementsSet) -> Iterator[str]:
    seen: set[str] = set()
    for reference in requirements.references:
        if is_outside(reference.name) or reference.kind is None:
            continue  # read from the local disk by the installer, or missing anyway
        names = [reference.name] if reference.kind == "file" else list(files.walk(reference.name))
        for name in names:
            if name not in seen:
                seen.add(name)
                yield name
