"""Finding a model's environment in the cache, or building it once under a lock.

:func:`resolve_target` works on any :class:`ModelFiles` (an extracted directory or an
unopened archive) and computes the key without building anything; :func:`ensure_environment`
returns the cached environment, or builds it. A run that finds its environment
makes no installer call at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mar_tools.cache import cache_subdir
from mar_tools.environment.builder import BuildRequest, build_environment
from mar_tools.environment.errors import EnvironmentSetupError
from mar_tools.environment.host import Host
from mar_tools.environment.installer import Installer
from mar_tools.environment.key import EnvKey, compute_key
from mar_tools.environment.model_files import ModelFiles
from mar_tools.environment.options import EnvOptions
from mar_tools.environment.pip_installer import PipInstaller
from mar_tools.environment.plan import EnvPlan, plan_environment
from mar_tools.environment.requirements import RequirementsSet, read_requirements
from mar_tools.environment.store import EnvStore, StoredEnv
from mar_tools.environment.torch_pin import direct_conflicts
from mar_tools.environment.uv_installer import UvInstaller, find_uv
from mar_tools.errors import ArchiveError
from mar_tools.manifest import Manifest


@dataclass(frozen=True)
class EnvTarget:
    """The environment a model should run in: the decision, and where it lives when needed."""

    model: str
    plan: EnvPlan
    host: Host
    store: EnvStore
    requirements: RequirementsSet | None = None
    key: EnvKey | None = None

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
) -> EnvTarget:
    """Decide and, when an environment is needed, compute its key from *files*.

    Raises :class:`ArchiveError` when the manifest names a requirements file the model
    does not have.
    """
    plan = plan_environment(manifest, model_config, options.mode)
    store = EnvStore(cache_subdir("envs", options.cache_dir))
    model = manifest.model.model_name or "model"
    host = host or Host.current()
    if not plan.needed:
        return EnvTarget(model, plan, host, store)
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
    return EnvTarget(model, plan, host, store, requirements, key)


def ensure_environment(
    target: EnvTarget,
    model_dir: Path,
    options: EnvOptions,
    log: Callable[[str], None],
    installers: Sequence[Installer] | None = None,
) -> StoredEnv:
    """The finished environment of *target*, built from *model_dir* if not cached yet.

    Concurrent callers for the same key build it once: the others wait for the lock and
    then find it. With ``options.rebuild`` a new environment replaces the cached one.
    """
    if target.key is None:
        raise ValueError("ensure_environment() needs a target that needs an environment")
    short = target.key.short
    if not options.rebuild:
        found = target.store.get(short)
        if found is not None:
            target.store.touch(found)
            log(f"using the cached environment {found.path}")
            return found
    try:
        with target.store.lock(short, f"building the environment {short}", log):
            if not options.rebuild:
                found = target.store.get(short)
                if found is not None:
                    target.store.touch(found)
                    log(f"using the environment another process just built: {found.path}")
                    return found
            _check_torch_requests(target)
            chosen = list(installers) if installers else select_installers(options.installer)
            request = BuildRequest(
                target.key, target.model, target.host, model_dir, target.plan.requirements, options
            )
            return _build_with_fallback(target.store, request, chosen, log)
    except OSError as exc:
        # The installers' own failures are reported by the builder; this is the cache itself.
        raise EnvironmentSetupError(
            f"cannot write the environment cache {target.store.root}: {exc}",
            hint="point --cache-dir or MAR_CACHE_DIR at a writable directory",
        ) from exc


def select_installers(choice: str) -> list[Installer]:
    """The installers to try in order for ``--installer`` *choice*."""
    uv = find_uv()
    if choice == "pip":
        return [PipInstaller()]
    if choice == "uv":
        if uv is None:
            raise EnvironmentSetupError(
                "--installer uv was given, but uv is not installed.",
                hint="pip install uv, or use --installer pip",
            )
        return [UvInstaller(uv)]
    return [UvInstaller(uv), PipInstaller()] if uv is not None else [PipInstaller()]


def _build_with_fallback(
    store: EnvStore,
    request: BuildRequest,
    installers: Sequence[Installer],
    log: Callable[[str], None],
) -> StoredEnv:
    for index, installer in enumerate(installers):
        started = time.perf_counter()
        log(
            f"creating the environment for model {request.model} ({request.key.short}) "
            f"with {installer.description}..."
        )
        try:
            env = build_environment(store, request, installer, log)
        except EnvironmentSetupError as exc:
            if index == len(installers) - 1:
                raise
            following = installers[index + 1].description
            reason = exc.message.splitlines()[0]
            log(f"{installer.description} failed ({reason}); retrying with {following}")
            continue
        log(f"environment ready in {time.perf_counter() - started:.1f} s: {env.path}")
        return env
    raise ValueError("no installer to build with")


def _check_torch_requests(target: EnvTarget) -> None:
    torch = target.host.torch_version
    if target.requirements is None or torch is None:
        return
    conflicts = direct_conflicts(target.requirements.named, torch)
    if conflicts:
        first = conflicts[0]
        raise EnvironmentSetupError(
            f"cannot create the environment for model {target.model}: {first.describe(torch)} "
            "Per-model environments keep the launching environment's torch; no requirement "
            "can replace it.",
            hint="relax the requirement, or install the torch the model needs into the "
            "environment you run mar from",
        )
