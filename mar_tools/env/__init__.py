"""Per-model Python environments for ``mar run``.

The runner asks :func:`prepare_environment` which interpreter to start the worker with.
A model that ships a ``requirementsFile`` (or sets ``useVenv: true``) gets a virtualenv of
its own, built once per content key and cached; it inherits the launching environment's
packages (torch, mar-tools, ...) behind its own. Everything else runs in the current
interpreter. See ``docs/environments.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from mar_tools.core.errors import EnvironmentSetupError
from mar_tools.core.interpreter import Interpreter
from mar_tools.core.model_source import ModelSource
from mar_tools.core.reporter import Reporter, SilentReporter
from mar_tools.env.options import EnvMode, EnvOptions, InstallerChoice

if TYPE_CHECKING:
    from mar_tools.env.store import StoredEnv

__all__ = [
    "EnvMode",
    "EnvOptions",
    "EnvironmentSetupError",
    "InstallerChoice",
    "Interpreter",
    "interpreter_for",
    "prepare_environment",
]


def prepare_environment(
    model: ModelSource,
    model_dir: Path,
    options: EnvOptions,
    reporter: Reporter | None = None,
) -> Interpreter:
    """Return the interpreter for *model*, extracted at *model_dir*.

    Builds the model's environment first when it needs one and none is cached (installers
    run with *model_dir* as their working directory, so relative paths in the requirements
    resolve as in TorchServe). Progress messages go to *reporter*. Raises
    :class:`EnvironmentSetupError` (exit code 5) when the environment cannot be built.
    """
    from mar_tools.env.plan import plan_environment

    reporter = reporter or SilentReporter()
    plan = plan_environment(model.manifest, model.model_yaml_config, options.mode)
    if plan.note:
        reporter.info(plan.note)
    if not plan.needed:
        return Interpreter()
    # Imported only now: most models need no environment, and the machinery (virtualenv,
    # filelock, packaging) costs a noticeable part of `mar run`'s start-up.
    from mar_tools.env.lock import shared_descriptor
    from mar_tools.env.provision import ensure_environment, resolve_target

    target = resolve_target(
        model.files, model.manifest, model.model_yaml_config, options, display=model.display
    )
    env = ensure_environment(target, lambda: model_dir, options, reporter)
    return interpreter_for(env, shared_descriptor(target.store.use_path(env.short)))


def interpreter_for(env: StoredEnv, use_lock: int | None = None) -> Interpreter:
    """The worker interpreter of a finished environment, with ``VIRTUAL_ENV`` and ``PATH``
    set as activation would (so the handler's subprocesses find the environment's tools).
    *use_lock* is the descriptor of the environment's use lock, for the worker to inherit
    (it keeps ``mar env prune`` away while the worker runs)."""
    layout = env.layout
    path = os.environ.get("PATH", os.defpath)
    return Interpreter(
        python=layout.python,
        env={"VIRTUAL_ENV": str(layout.root), "PATH": f"{layout.scripts}{os.pathsep}{path}"},
        description=f"virtualenv {env.short} (model {env.record.model})",
        inherited_fds=() if use_lock is None else (use_lock,),
    )
