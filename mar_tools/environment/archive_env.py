"""The environment of an archive given by path (``mar env path/create``).

The key is computed from the archive's members directly, so it equals the key ``mar run``
computes from the extracted model directory. Building stages only the files the installer
reads (see :mod:`.staging`) in a temporary directory. A directory archive is read and
installed from in place, as ``mar run`` uses it in place.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from mar_tools.archive import ArchiveView, DirectoryView, open_archive
from mar_tools.environment.model_files import ArchiveFiles, DirectoryFiles, ModelFiles
from mar_tools.environment.options import EnvOptions
from mar_tools.environment.provision import EnvTarget, ensure_environment, resolve_target
from mar_tools.environment.staging import read_manifest, read_model_config, stage_requirements
from mar_tools.environment.store import StoredEnv


def locate(archive: Path, options: EnvOptions) -> EnvTarget:
    """Decide whether *archive* needs an environment and compute its key; build nothing."""
    with open_archive(archive) as view:
        return _target(view, options)


def create(
    archive: Path, options: EnvOptions, log: Callable[[str], None]
) -> tuple[EnvTarget, StoredEnv | None]:
    """Build (or find) the environment of *archive*; None when it needs none."""
    with open_archive(archive) as view:
        target = _target(view, options)
        if target.plan.note:
            log(target.plan.note)
        if not target.plan.needed:
            return target, None
        if isinstance(view, DirectoryView):
            return target, ensure_environment(target, view.root, options, log)
        with tempfile.TemporaryDirectory(prefix="mar-env-stage-") as staged:
            if target.requirements is not None:
                stage_requirements(view, target.requirements, Path(staged))
            return target, ensure_environment(target, Path(staged), options, log)


def _target(view: ArchiveView, options: EnvOptions) -> EnvTarget:
    manifest = read_manifest(view)
    config = read_model_config(view, manifest)
    files: ModelFiles = (
        DirectoryFiles(view.root) if isinstance(view, DirectoryView) else ArchiveFiles(view)
    )
    return resolve_target(files, manifest, config, options)
