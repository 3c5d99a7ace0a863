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


def apply_pt2_options(model: Any, config: Any, device: Any, ipex: Any) -> Any:
    """The model to serve: *model* compiled per *config*'s ``pt2``, IPEX-optimized, or as is.

    *config* is model-config.yaml (``{}`` without one; an empty file's None raises
    ``TypeError``, as in TorchServe). *ipex* is the imported intel_extension_for_pytorch
    module when IPEX is enabled, else None.
    """
    compile_options: dict[str, Any] = {}
    valid_backend = False
    if "pt2" in config:
        pt2_value = config["pt2"]
        if "compile" in pt2_value:
            compile_options = pt2_value["compile"]
            if compile_options["enable"] == True:  # noqa: E712 (TorchServe compares to True)
                del compile_options["enable"]
                valid_backend = (
                    check_valid_pt2_backend(compile_options["backend"])
                    if "backend" in compile_options
                    else True
                )
        elif "export" in pt2_value:
            valid_backend = False
        else:
            if isinstance(pt2_value, str):
                compile_options = {"backend": pt2_value}
            elif isinstance(pt2_value, dict):
                compile_options = pt2_value
            else:
                raise ValueError("pt2 should be str or dict")
            valid_backend = (
                check_valid_pt2_backend(compile_options["backend"])
                if "backend" in compile_options
                else True
            )
            logger.warning(
                "This approach of specifying torch.compile() options is deprecated. The new "
                "standard approach is mentioned in https://github.com/pytorch/serve/issues/3164"
            )
    if PT2_AVAILABLE and valid_backend:
        described = ", ".join(f"{k} {v}" for k, v in compile_options.items())
        if compile_options.get("backend") == "openvino":
            try:
                importlib.import_module("openvino.torch")
            except ImportError:
                logger.warning("OpenVINO is not enabled")
        try:
            compiled = torch.compile(model, **compile_options)
        except Exception as exc:
            logger.warning(
                f"Compiling model model with {described} has failed \n "
                "Proceeding without compilation"
            )
            logger.warning(exc)
        else:
            logger.info(f"Compiled model with {described}")
            return compiled
    elif ipex is not None:
        model = model.to(memory_format=torch.channels_last)
        model = model.to(device)
        model = ipex.optimize(model)
        logger.info("Compiled model with ipex")
    return model
