"""When a model gets an environment of its own."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from mar_tools.core.manifest import Manifest, ModelInfo
from mar_tools.env.options import EnvMode
from mar_tools.env.plan import EnvPlan, plan_environment

NO_ENV = "no requirementsFile and no useVenv"
IGNORED = "useVenv is ignored for runtime 'python3' (TorchServe honours it for 'python' only)."


def manifest(requirements: str | None = None, runtime: str = "python") -> Manifest:
    info = ModelInfo(model_name="m", handler="h.py", requirements_file=requirements)
    return Manifest(runtime=runtime, model=info)


@pytest.mark.parametrize(
    ("requirements", "config", "runtime", "mode", "expected"),
    [
        (None, {}, "python", "auto", EnvPlan(False, None, NO_ENV)),
        ("r.txt", {}, "python", "auto", EnvPlan(True, "r.txt", "requirementsFile r.txt")),
        (None, {"useVenv": True}, "python", "auto", EnvPlan(True, None, "useVenv: true")),
        # YAML true only: a string is not a boolean (TorchServe's frontend is type-strict).
        (None, {"useVenv": "true"}, "python", "auto", EnvPlan(False, None, NO_ENV)),
        (None, {"useVenv": True}, "python3", "auto", EnvPlan(False, None, NO_ENV, IGNORED)),
        (None, {}, "python", "venv", EnvPlan(True, None, "--env venv")),
        ("r.txt", {}, "python", "venv", EnvPlan(True, "r.txt", "--env venv")),
        (
            "r.txt",
            {"useVenv": True},
            "python",
            "none",
            EnvPlan(False, None, "--env none", "--env none: r.txt is not installed."),
        ),
    ],
)
def test_plan(
    requirements: str | None,
    config: Mapping[str, object],
    runtime: str,
    mode: EnvMode,
    expected: EnvPlan,
) -> None:
    assert plan_environment(manifest(requirements, runtime), config, mode) == expected
