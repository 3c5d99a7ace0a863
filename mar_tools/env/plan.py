"""Whether a model gets its own environment, and why.

TorchServe's rules, with one difference: TorchServe installs a ``requirementsFile`` only
when ``install_py_dep_per_model=true`` is configured; ``mar run`` always gives such a model
an environment (running it without its requirements is never what the user wants).
``useVenv: true`` in model-config.yaml counts only for the ``python`` runtime, as in
TorchServe; an environment without requirements still isolates what the handler installs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mar_tools.core.manifest import Manifest
from mar_tools.env.options import EnvMode

USE_VENV = "useVenv"
VENV_RUNTIMES = ("python",)


@dataclass(frozen=True)
class EnvPlan:
    """The decision. ``reason`` says why an environment is (or is not) used; ``note`` is
    something the user should hear (requirements skipped, ``useVenv`` ignored)."""

    needed: bool
    requirements: str | None
    reason: str
    note: str | None = None


def plan_environment(manifest: Manifest, model_config: Mapping[str, Any], mode: EnvMode) -> EnvPlan:
    """Decide for *manifest* and its parsed model-config under ``--env`` *mode*."""
    requirements = manifest.model.requirements_file
    use_venv = model_config.get(USE_VENV) is True
    # TorchServe assumes python when the manifest has no runtime.
    honoured = use_venv and (manifest.runtime or "python") in VENV_RUNTIMES
    note = None
    if use_venv and not honoured:
        note = (
            f"useVenv is ignored for runtime {manifest.runtime!r} "
            "(TorchServe honours it for 'python' only)."
        )
    if mode == "none":
        skipped = f"--env none: {requirements} is not installed." if requirements else note
        return EnvPlan(False, None, "--env none", skipped)
    if mode == "venv":
        return EnvPlan(True, requirements, "--env venv", note)
    if requirements:
        return EnvPlan(True, requirements, f"requirementsFile {requirements}", note)
    if honoured:
        return EnvPlan(True, None, "useVenv: true", note)
    return EnvPlan(False, None, "no requirementsFile and no useVenv", note)
