"""Which archives a list of changed files belongs to: ``mar validate --changed-files``, as the
pre-commit hook (``.pre-commit-hooks.yaml``) and CI scripts call it with the files a commit
touches.

* A ``.mar`` or ``.tar.gz`` file is an archive itself.
* Any file (or directory) inside a model directory, the nearest directory above it that holds
  ``MAR-INF/MANIFEST.json``, stands for that model directory: editing ``handler.py`` re-checks
  the whole model.
* Anything else belongs to no archive and is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mar_tools.core.manifest import MANIFEST_PATH

#: File names that are archives by themselves (TorchServe's own choice of unpacker).
ARCHIVE_SUFFIXES = (".mar", ".tar.gz")


def archives_of_changed(paths: Iterable[Path]) -> list[Path]:
    """The archives that *paths* are or belong to, each once, in the order first met.

    Paths are taken as given (relative ones stay relative, to the current directory); a
    model directory is searched for among the parents of each path, up to the top of a
    relative path (``.`` included) or to the root of an absolute one.
    """
    found: dict[Path, None] = {}
    owners: dict[Path, Path | None] = {}
    for path in paths:
        if path.name.endswith(ARCHIVE_SUFFIXES) and path.is_file():
            found.setdefault(path)
        owner = _model_directory(path, owners)
        if owner is not None:
            found.setdefault(owner)
    return list(found)


def _model_directory(path: Path, owners: dict[Path, Path | None]) -> Path | None:
    """The nearest of *path* (when a directory) and its parents that holds a manifest.
    *owners* caches the answer for every directory looked at."""
    candidates = [path, *path.parents] if path.is_dir() else list(path.parents)
    visited: list[Path] = []
    owner: Path | None = None
    for directory in candidates:
        if directory in owners:
            owner = owners[directory]
            break
        visited.append(directory)
        if (directory / MANIFEST_PATH).is_file():
            owner = directory
            break
    for directory in visited:
        owners[directory] = owner
    return owner
