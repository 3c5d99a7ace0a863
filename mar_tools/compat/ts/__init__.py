"""A TorchServe 0.12-compatible ``ts`` package for handlers run by ``mar run``.

Handlers written for TorchServe import ``ts.torch_handler.*``, ``ts.context``, ``ts.utils.util``,
``ts.handler_utils.*`` and ``ts.metrics.*``; these modules give them the same classes and
behaviour without the ``torchserve`` distribution (no Java, no psutil, no torchvision, and
captum only when an explanation is asked for).
"""

from .version import __version__

__all__ = ["__version__"]
