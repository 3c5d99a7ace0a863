"""The environment of an archive given by path (``mar env path/create``).

The key is computed from the archive's members directly (nothing is extracted to find an
environment), so it equals the key ``mar run`` computes from the extracted model directory.
Building extracts the archive exactly as ``mar run`` does, into the same cache: the
environment is installed from the directory every later ``mar run`` uses (an editable
requirement keeps pointing at it), and that run finds the extraction ready too. A directory
archive is read and installed from in place, as ``mar run`` uses it in place.
"""

from __future__ import annotations

from pathlib import Path

from mar_tools.core.archive import open_archive
from mar_tools.core.cache import cache_subdir
from mar_tools.core.errors import EnvironmentSetupError, UsageError
from mar_tools.core.model_files import ModelFiles
from mar_tools.core.model_source import read_model
from mar_tools.core.reporter import Reporter, SilentReporter
from mar_tools.env.options import EnvOptions
from mar_tools.env.provision import EnvTarget, ensure_environment, resolve_target
from mar_tools.env.store import StoredEnv


def locate(archive: Path, options: EnvOptions) -> EnvTarget:
    """Decide whether *archive* needs an environment and compute its key; build nothing."""
    with open_archive(archive, limits=options.limits) as view:
        files = ModelFiles(view)
        model = read_model(files, str(archive))
        return resolve_target(
            files, model.manifest, model.model_yaml_config, options, display=str(archive)
        )


def create(
    archive: Path, options: EnvOptions, reporter: Reporter | None = None
) -> tuple[EnvTarget, StoredEnv | None]:
    """Build (or find) the environment of *archive*; None when it needs none. Progress
    messages go to *reporter*."""
    reporter = reporter or SilentReporter()
    target = locate(archive, options)
    if target.plan.note:
        reporter.info(target.plan.note)
    if not target.plan.needed:
        return target, None
    return target, ensure_environment(
        target, lambda: _extracted(archive, options, reporter), options, reporter
    )


def _extracted(archive: Path, options: EnvOptions, reporter: Reporter) -> Path:
    """The model directory ``mar run`` would use for *archive* (extracted into the cache)."""
    # Imported here: only a build needs the extraction machinery.
    from mar_tools.core.extraction import prepare_model_dir

    try:
        cache = cache_subdir("extracted", options.cache_dir)
        return prepare_model_dir(archive, cache, options.limits, reporter).model_dir
    except UsageError as exc:  # an unwritable cache; its hint speaks of mar run's options
        raise EnvironmentSetupError(
            exc.message, hint="point --cache-dir or MAR_CACHE_DIR at a writable directory"
        ) from exc
