"""A TorchServe 0.12-compatible ``ts`` package for handlers run by ``mar run``.

Handlers written for TorchServe import ``ts.torch_handler.*``, ``ts.context``, ``ts.utils.*``,
``ts.handler_utils.*``, ``ts.metrics.*``, ``ts.service`` and ``ts.model_service.*``; these
modules give them the same classes and behaviour without the ``torchserve`` distribution (no
Java, no psutil, no torchvision, and captum only when an explanation is asked for). Modules
that need DeepSpeed, PiPPy, DALI, vLLM or TensorRT-LLM raise ``ModuleNotFoundError`` with
the fix (see ``_unavailable``). Written from the behaviour contract, not from upstream's
source; ``docs/ts-compat.md`` lists the modules and the deliberate differences.
"""

from .version import __version__

__all__ = ["__version__"]
