"""Modules of TorchServe's ``ts`` that need a heavy third-party stack mar-tools does not
ship (DeepSpeed, PiPPy, NVIDIA DALI, vLLM, TensorRT-LLM).

Each such module of this package calls :func:`refuse` when imported, which raises
:class:`HeavyStackMissing`: a ``ModuleNotFoundError`` (so ``except ImportError`` fallbacks in
handlers keep working) whose message names the module and the fix. With ``torchserve`` (and
the stack itself) installed in the model's environment, the real ``ts`` package comes first
on ``sys.path`` and these modules are never reached.
"""

from __future__ import annotations

from typing import NoReturn

#: The requirement line that makes the real ``ts`` package win.
TORCHSERVE_REQUIREMENT = "torchserve==0.12.0"


class HeavyStackMissing(ModuleNotFoundError):
    """A ``ts`` module that mar-tools' built-in ``ts`` package does not provide."""


def refuse(module: str, stack: str, requirement: str, import_name: str) -> NoReturn:
    """Raise :class:`HeavyStackMissing` for *module*, which needs *stack*: the pip
    *requirement*, imported as *import_name* (which becomes ``exc.name``)."""
    raise HeavyStackMissing(
        f"{module} needs {stack}, which mar run's built-in ts package does not include. "
        f"Add {TORCHSERVE_REQUIREMENT} and {requirement} to the model's requirements file: "
        "with torchserve installed in the model's environment, its own ts package is used "
        "instead of the built-in one.",
        name=import_name,
    )
