"""``ts.torch_handler.densenet_handler``: a handler whose requests are ``torch.save``d tensors.

Every row's ``data``/``body`` is a serialized tensor; they are stacked, run through the model
(eager ``modelFile`` + state dict, or TorchScript) and the whole output tensor is returned as
the single response (so a batch of more than one request fails the length check).
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH113, PTH118

from __future__ import annotations

import io
import logging
import os
import time
from typing import Any

import torch

from ._weights import model_class

logger = logging.getLogger(__name__)


def _tensor_of(row: Any) -> Any:
    """The tensor a request row carries, ``torch.save``d in its data (or body)."""
    return torch.load(io.BytesIO(row.get("data") or row.get("body")))


class DenseNetHandler:
    """Tensor bytes in, the model's output tensor out."""

    model: Any
    device: Any
    context: Any
    manifest: Any
    map_location: str | None

    def __init__(self) -> None:
        for name in ("model", "device", "context", "manifest", "map_location"):
            setattr(self, name, None)
        self.initialized = False

    def initialize(self, context: Any) -> None:
        """Load the model onto CUDA (when a GPU id is given and available) or the CPU.

        Raises ``RuntimeError("Missing the model.pt file")`` without the serialized file.
        """
        settings = context.system_properties
        gpu_id = settings.get("gpu_id")
        if gpu_id is not None and torch.cuda.is_available():
            self.map_location, self.device = "cuda", torch.device(f"cuda:{gpu_id}")
        else:
            self.map_location, self.device = "cpu", torch.device("cpu")
        self.manifest = context.manifest
        model_dir = settings.get("model_dir")
        entry = self.manifest["model"]
        weights = os.path.join(model_dir, entry["serializedFile"])
        if not os.path.isfile(weights):
            raise RuntimeError("Missing the model.pt file")
        source = entry.get("modelFile", "")
        logger.debug("Loading %s model", "eager" if source else "torchscript")
        self.model = (
            self._load_pickled_model(model_dir, source, weights)
            if source
            else self._load_torchscript_model(weights)
        )
        self.model.to(self.device)
        self.model.eval()
        logger.debug("Model file %s loaded successfully", weights)
        self.initialized = True

    def _load_torchscript_model(self, model_pt_path: str) -> Any:
        return torch.jit.load(model_pt_path, map_location=self.map_location)  # type: ignore[no-untyped-call]

    def _load_pickled_model(self, model_dir: str, model_file: str, model_pt_path: str) -> Any:
        """The model file's class, instantiated after its state dict was read (this
        handler reads the weights first, unlike ``BaseHandler``)."""
        cls = model_class(model_dir, model_file)
        weights = torch.load(model_pt_path, map_location=self.map_location)
        instance = cls()
        instance.load_state_dict(weights)
        return instance

    def inference(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        with torch.no_grad():
            return self.model(data.to(self.device), *args, **kwargs)

    def handle(self, data: Any, context: Any) -> Any:
        """Stack the batch's tensors, run the model, answer ``[output]``."""
        began = time.time()
        self.context = context
        sink = context.metrics
        output = self.inference(torch.stack([_tensor_of(row) for row in data]))
        sink.add_time("HandlerTime", round((time.time() - began) * 1000, 2), None, "ms")
        return [output]
