"""Where a default handler puts its model: the device preference of TorchServe 0.12.

A worker given a GPU id uses, in this order, CUDA, Intel XPU (only with
``TS_IPEX_GPU_ENABLE=true``) or Apple MPS when the build has it; a worker with torch_xla
installed uses the XLA device whatever its GPU id; everything else runs on the CPU. The
``map_location`` is what ``torch.load`` and onnxruntime are told: the device type, or None
on XLA.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Any

import torch

XLA_AVAILABLE = importlib.util.find_spec("torch_xla") is not None


@dataclass(frozen=True)
class Placement:
    """A device (``torch.device``, or torch_xla's device object) and its ``map_location``."""

    device: Any
    map_location: str | None


def _xpu_enabled() -> bool:
    return os.environ.get("TS_IPEX_GPU_ENABLE", "false") == "true" and torch.xpu.is_available()


def _numbered(kind: str, gpu_id: int) -> Placement:
    # f-string, not torch.device(kind, index): the id is used as given, as TorchServe does.
    return Placement(torch.device(f"{kind}:{gpu_id}"), kind)


def choose_placement(gpu_id: int | None) -> Placement:
    """The placement for a worker given *gpu_id* (None on a CPU-only worker)."""
    if gpu_id is not None:
        if torch.cuda.is_available():
            return _numbered("cuda", gpu_id)
        if _xpu_enabled():
            return _numbered("xpu", gpu_id)
        if torch.backends.mps.is_available():
            return Placement(torch.device("mps"), "mps")
    if XLA_AVAILABLE:
        xla_model: Any = importlib.import_module("torch_xla.core.xla_model")
        return Placement(xla_model.xla_device(), None)
    return Placement(torch.device("cpu"), "cpu")
