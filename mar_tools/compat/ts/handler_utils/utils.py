"""``ts.handler_utils.utils``: ``import_class`` and streamed intermediate responses."""

from __future__ import annotations

import importlib
import os
from typing import Any

from ..protocol.otf_message_handler import create_predict_response


def import_class(class_name: str, module_prefix: str | None = None) -> Any:
    """Import ``module.Class`` (optionally under *module_prefix*) and return the class."""
    if not class_name:
        raise ImportError("class name is not defined")
    module_name, _, name = class_name.rpartition(".")
    if module_prefix:
        target = f"{module_prefix}.{module_name}" if module_name else module_prefix
        module = importlib.import_module(target)
    elif module_name:
        module = importlib.import_module(module_name)
    else:
        raise ImportError("module name is not defined.")
    model_class = getattr(module, name, None)
    if model_class is None:
        raise ImportError(f"class:{name} not found in module:{module_name}.")
    return model_class


def send_intermediate_predict_response(
    ret: Any, req_id_map: dict[int, str], message: str, code: int, context: Any
) -> None:
    """Send one intermediate (streamed) response of the batch through ``context.cl_socket``."""
    if str(os.getenv("LOCAL_RANK", 0)) != "0":
        return
    frame = create_predict_response(ret, req_id_map, message, code, context, True)
    context.cl_socket.sendall(frame)
