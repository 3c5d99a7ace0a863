"""``ENABLE_TORCH_PROFILER``: one batch of a default handler under ``torch.profiler``.

The handler's ``profiler_args`` are used as given; when empty they become "CPU and CUDA
activities, record shapes", and without an ``on_trace_ready`` callback TensorBoard traces go
to ``/tmp/pytorch_profiler/<modelName>``. Each step runs inside a ``record_function`` named
after it (``preprocess``, ``inference``, ``postprocess``, or ``explain``), and the ten most
expensive operators are logged as a table. The messages are TorchServe's.
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH118

from __future__ import annotations

import logging
import os
from typing import Any

import torch

# The messages are TorchServe's base_handler's: log them under its name.
logger = logging.getLogger(__name__.rsplit(".", 1)[0] + ".base_handler")

#: TorchServe's fixed location for traces.
TRACE_ROOT = "/tmp/pytorch_profiler"


def _trace_dir(manifest: Any) -> str:
    try:
        name = manifest["model"]["modelName"]
    except KeyError:
        logging.debug("Model name not found in config")  # the root logger, as upstream
        name = ""
    return os.path.join(TRACE_ROOT, name)


def _complete_arguments(arguments: dict[str, Any], manifest: Any) -> None:
    """Fill the defaults into the handler's own ``profiler_args`` (kept for the next batch)."""
    from torch.profiler import ProfilerActivity

    if not arguments:
        arguments.update(
            activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], record_shapes=True
        )
    if "on_trace_ready" in arguments:
        return
    trace_dir = _trace_dir(manifest)
    arguments["on_trace_ready"] = torch.profiler.tensorboard_trace_handler(trace_dir)
    logger.info("Saving chrome trace to : %s", trace_dir)


def _steps(handler: Any, data: Any) -> Any:
    from torch.profiler import record_function

    with record_function("preprocess"):
        prepared = handler.preprocess(data)
    if handler._is_explain():
        with record_function("explain"):
            return handler.explain_handle(prepared, data)
    with record_function("inference"):
        predicted = handler.inference(prepared)
    with record_function("postprocess"):
        return handler.postprocess(predicted)


def profile_batch(handler: Any, data: Any) -> tuple[Any, Any]:
    """Run *data* through *handler* under the profiler; ``(output, profiler)``."""
    from torch.profiler import profile

    _complete_arguments(handler.profiler_args, handler.manifest)
    with profile(**handler.profiler_args) as profiler:
        output = _steps(handler, data)
    logger.info(profiler.key_averages().table(sort_by="cpu_time_total", row_limit=10))
    return output, profiler
