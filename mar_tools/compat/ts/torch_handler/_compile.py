"""The ``pt2`` options of model-config.yaml, applied as TorchServe's ``BaseHandler`` does.

``pt2: {compile: {enable: true, backend: ..., ...}}`` compiles the model with
``torch.compile(**options)`` (the ``enable`` key is removed from the config, as upstream);
``pt2: {export: ...}`` does nothing here; the legacy ``pt2: "<backend>"`` or ``pt2: {kwargs}``
compiles with a deprecation warning; anything else raises ``ValueError``. A compile failure
is logged and the model stays uncompiled. Without a valid backend, IPEX is used when enabled.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import torch

from ..utils.util import check_valid_pt2_backend

# The messages are TorchServe's base_handler's: log them under its name.
logger = logging.getLogger(__name__.rsplit(".", 1)[0] + ".base_handler")
PT2_AVAILABLE = True  # torch >= 2.0 is required by mar-tools' run extra


_DEPRECATED_FORM = (
    "This approach of specifying torch.compile() options is deprecated. The new "
    "standard approach is mentioned in https://github.com/pytorch/serve/issues/3164"
)


def _backend_accepted(options: dict[str, Any]) -> bool:
    # No backend: torch.compile's default, which is valid.
    return "backend" not in options or check_valid_pt2_backend(options["backend"])


def _legacy_options(pt2: Any) -> dict[str, Any]:
    if isinstance(pt2, dict):
        return pt2
    if isinstance(pt2, str):
        return {"backend": pt2}
    raise ValueError("pt2 should be str or dict")


def compile_options(config: Any) -> dict[str, Any] | None:
    """The ``torch.compile`` keyword arguments *config* asks for; None for no compilation.

    Removes ``enable`` from ``pt2.compile`` (the config is modified, as upstream).
    """
    if "pt2" not in config:
        return None
    pt2 = config["pt2"]
    if "compile" in pt2:
        section = pt2["compile"]
        if section["enable"] != True:  # noqa: E712 (TorchServe compares to True)
            return None
        del section["enable"]
        return section if _backend_accepted(section) else None
    if "export" in pt2:
        return None  # an exported model is loaded as is
    options = _legacy_options(pt2)
    accepted = _backend_accepted(options)
    logger.warning(_DEPRECATED_FORM)
    return options if accepted else None


def _compiled(model: Any, options: dict[str, Any]) -> Any:
    summary = ", ".join(f"{key} {value}" for key, value in options.items())
    if options.get("backend") == "openvino":
        try:
            importlib.import_module("openvino.torch")
        except ImportError:
            logger.warning("OpenVINO is not enabled")
    try:
        result = torch.compile(model, **options)
    except Exception as exc:
        logger.warning(
            f"Compiling model model with {summary} has failed \n Proceeding without compilation"
        )
        logger.warning(exc)
        return model
    logger.info(f"Compiled model with {summary}")
    return result


def _ipex_optimized(model: Any, device: Any, ipex: Any) -> Any:
    prepared = model.to(memory_format=torch.channels_last).to(device)
    optimized = ipex.optimize(prepared)
    logger.info("Compiled model with ipex")
    return optimized


def apply_pt2_options(model: Any, config: Any, device: Any, ipex: Any) -> Any:
    """The model to serve: *model* compiled per *config*'s ``pt2``, IPEX-optimized, or as is.

    *config* is model-config.yaml (``{}`` without one; an empty file's None raises
    ``TypeError``, as in TorchServe). *ipex* is the imported intel_extension_for_pytorch
    module when IPEX is enabled, else None.
    """
    options = compile_options(config)
    if PT2_AVAILABLE and options is not None:
        return _compiled(model, options)
    if ipex is not None:
        return _ipex_optimized(model, device, ipex)
    return model
