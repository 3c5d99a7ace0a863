"""Finding a model's environment in the cache, or building it once under a lock.

:func:`resolve_target` works on any :class:`ModelFiles` (an extracted directory or an
unopened archive) and computes the key without building anything; :func:`ensure_environment`
returns the cached environment, or builds it. A run that finds its environment makes no
installer call at all, and does not even import the build machinery (:mod:`.builder`, the
installers, ``filelock``, ``packaging``): it costs ``mar run`` a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mar_tools.core.cache import cache_subdir
from mar_tools.core.errors import ArchiveError, EnvironmentSetupError
from mar_tools.core.manifest import Manifest
from mar_tools.core.model_files import ModelFiles
from mar_tools.core.reporter import Reporter
from mar_tools.core.requirements import RequirementsSet, read_requirements
from mar_tools.core.requirements_policy import enforce
from mar_tools.env.host import Host
from mar_tools.env.key import EnvKey, compute_key
from mar_tools.env.options import EnvOptions
from mar_tools.env.plan import EnvPlan, plan_environment
from mar_tools.env.store import EnvStore, StoredEnv


@dataclass(frozen=True)
class EnvTarget:
    """The environment a model should run in: the decision, and where it lives when needed."""

    model: str
    plan: EnvPlan
    host: Host
    store: EnvStore
    requirements: RequirementsSet | None = None
    key: EnvKey | None = None
    #: The archive, as named in messages.
    display: str = ""

    @property
    def path(self) -> Path | None:
        """The environment's directory (it may not exist yet), or None when none is needed."""
        return None if self.key is None else self.store.path(self.key.short)

    def existing(self) -> StoredEnv | None:
        """The finished environment, when it has been built."""
        return None if self.key is None else self.store.get(self.key.short)


def resolve_target(
    files: ModelFiles,
    manifest: Manifest,
    model_config: Mapping[str, Any],
    options: EnvOptions,
    host: Host | None = None,
    display: str = "",
) -> EnvTarget:
    """Decide and, when an environment is needed, compute its key from *files*; *display*
    names the archive in messages.

    Raises :class:`ArchiveError` when the manifest names a requirements file the model
    does not have.
    """
    plan = plan_environment(manifest, model_config, options.mode)
    store = EnvStore(cache_subdir("envs", options.cache_dir))
    model = manifest.model.model_name or "model"
    host = host or Host.current()
    if not plan.needed:
        return EnvTarget(model, plan, host, store, display=display)
    requirements = None
    if plan.requirements is not None:
        if files.kind(plan.requirements) != "file":
            raise ArchiveError(
                f"the manifest names requirementsFile '{plan.requirements}', "
                "but the archive has no such file.",
                hint="rebuild the archive with the requirements file (-r) or remove the entry",
            )
        requirements = read_requirements(files, plan.requirements)
    key = compute_key(host, requirements, files)
    return EnvTarget(model, plan, host, store, requirements, key, display)


def ensure_environment(
    target: EnvTarget,
    model_dir: Callable[[], Path],
    options: EnvOptions,
    reporter: Reporter,
) -> StoredEnv:
    """The finished environment of *target*, built if not cached yet.

    *model_dir* is called, only when a build is needed, for the directory the installer
    runs in (``mar env create`` extracts the archive then, and not when the environment is
    already there). Concurrent callers for the same key build it once: the others wait for
    the lock and then find it. With ``options.rebuild`` a new environment replaces the
    cached one. Requirements that break the requirements policy are refused first
    (``ArchiveError``), cached or not. The environment returned is marked in use until this
    process exits (``mar env prune`` leaves it alone). What it finds, waits for and builds
    is told to *reporter*.
    """
    if target.key is None:
        raise ValueError("ensure_environment() needs a target that needs an environment")
    if target.requirements is not None:
        enforce(
            target.requirements,
            allow_options=options.allow_requirements_options,
            where=target.display or f"model {target.model}",
        )
    short = target.key.short
    store = target.store
    try:
        if not options.rebuild:
            found = store.claim(short)
            if found is not None:
                reporter.info(f"using the cached environment {found.path}")
                return found
        with store.lock(short, f"building the environment {short}", reporter):
            if not options.rebuild:
                found = store.claim(short)
                if found is not None:
                    reporter.info(f"using the environment another process just built: {found.path}")
                    return found
            # Imported only now: a run that finds its environment never needs them.
            from mar_tools.env.builder import BuildRequest, build

            request = BuildRequest(
                target.key, target.model, target.host, model_dir(), target.requirements, options
            )
            built = build(store, request, reporter)
            store.claim(short)  # still under the lock: nothing can remove it in between
            return built
    except OSError as exc:
        # The installers' own failures are reported by the builder; this is the cache itself.
        raise EnvironmentSetupError(
            f"cannot write the environment cache {store.root}: {exc}",
            hint="point --cache-dir or MAR_CACHE_DIR at a writable directory",
        ) from exc
