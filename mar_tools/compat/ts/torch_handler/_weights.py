"""Reading a model from an archive's files, as TorchServe 0.12's default handlers do.

* :func:`model_class` finds the one class of an eager model's ``modelFile`` (imported by its
  module name: the model directory is on ``sys.path``);
* :func:`select_loader` picks how a ``serializedFile`` without a ``modelFile`` is read, from
  its suffix: TorchScript ``.pt``, ONNX ``.onnx`` (when onnxruntime is installed), or an
  AOT-compiled ``.so`` (when ``pt2.export.aot_compile`` is set and torch > 2.2.2);
* :func:`onnx_session` opens an onnxruntime session.

The error texts are TorchServe's: users search for them.
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH113, PTH118

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from typing import Any, Literal

import torch

from ..utils.util import list_classes_from_module

LoaderKind = Literal["torchscript", "onnx", "aot"]


def _torch_newer_than(major: int, minor: int, patch: int) -> bool:
    numbers = []
    for piece in torch.__version__.split("+")[0].split(".")[:3]:
        numbers.append(int("".join(ch for ch in piece if ch.isdigit()) or 0))
    return tuple(numbers) > (major, minor, patch)


#: ``torch._export.aot_load`` exists (torch newer than 2.2.2).
PT230_AVAILABLE = _torch_newer_than(2, 2, 2)


def onnx_available() -> bool:
    """Whether onnxruntime can be imported (it is imported only when a model needs it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def model_class(model_dir: str, model_file: str) -> type[Any]:
    """The single class defined in *model_file* (a file name inside *model_dir*).

    Raises ``RuntimeError("Missing the model.py file")`` when the file is absent and
    ``ValueError`` when it defines no class or several.
    """
    if not os.path.isfile(os.path.join(model_dir, model_file)):
        raise RuntimeError("Missing the model.py file")
    module_name = model_file.split(".")[0]
    candidates = list_classes_from_module(importlib.import_module(module_name))
    if len(candidates) == 1:
        return candidates[0]
    raise ValueError(f"Expected only one class as model definition. {candidates}")


def select_loader(weights: str, aot_requested: Callable[[], bool]) -> LoaderKind | None:
    """How to read *weights* when the archive has no ``modelFile``; None when nothing can.

    *aot_requested* tells whether model-config.yaml sets ``pt2.export.aot_compile``; it is
    asked only for a ``.so`` file (for other files a malformed ``pt2`` must not fail).
    """
    if weights.endswith(".pt"):
        return "torchscript"
    if weights.endswith(".onnx") and onnx_available():
        return "onnx"
    if weights.endswith(".so") and aot_requested() and PT230_AVAILABLE:
        return "aot"
    return None


def unloadable_message(weights: str) -> str:
    """TorchServe's error text for weights nothing can read, with a hint for ONNX files."""
    message = "No model weights could be loaded"
    if weights.endswith(".onnx"):
        message += " (an .onnx model needs onnxruntime in the model's environment)"
    return message


def onnx_session(model_path: str, map_location: str | None) -> Any:
    """An onnxruntime session for *model_path*: CUDA then CPU providers when on CUDA, one
    intra-op thread per logical CPU."""
    ort: Any = importlib.import_module("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    providers = ["CPUExecutionProvider"]
    if map_location == "cuda":
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(model_path, providers=providers, sess_options=options)
