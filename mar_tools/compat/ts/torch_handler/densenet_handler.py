"""``ts.torch_handler.densenet_handler``: a handler whose requests are ``torch.save``d tensors.

Every row's ``data``/``body`` is a serialized tensor; they are stacked, run through the model
(eager ``modelFile`` + state dict, or TorchScript) and the whole output tensor is returned as
the single response (so a batch of more than one request fails the length check).
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH113, PTH118

from __future__ import annotations

import importlib
import io
import logging
import os
import time
from typing import Any

import torch

from ..utils.util import list_classes_from_module

logger = logging.getLogger(__name__)


class DenseNetHandler:
    """Tensor bytes in, the model's output tensor out."""

    def __init__(self) -> None:
        self.model: Any = None
        self.device: Any = None
        self.initialized = False
        self.context: Any = None
        self.manifest: Any = None
        self.map_location: str | None = None

    def initialize(self, context: Any) -> None:
        """Load the model onto CUDA (when a GPU id is given and available) or the CPU."""
        properties = context.system_properties
        gpu_id = properties.get("gpu_id")
        on_cuda = torch.cuda.is_available() and gpu_id is not None
        self.map_location = "cuda" if on_cuda else "cpu"
        self.device = torch.device(f"cuda:{gpu_id}" if on_cuda else "cpu")
        self.manifest = context.manifest
        model_dir = properties.get("model_dir")
        model_pt_path = os.path.join(model_dir, self.manifest["model"]["serializedFile"])
        if not os.path.isfile(model_pt_path):
            raise RuntimeError("Missing the model.pt file")
        model_file = self.manifest["model"].get("modelFile", "")
        if model_file:
            logger.debug("Loading eager model")
            self.model = self._load_pickled_model(model_dir, model_file, model_pt_path)
        else:
            logger.debug("Loading torchscript model")
            self.model = self._load_torchscript_model(model_pt_path)
        self.model.to(self.device)
        self.model.eval()
        logger.debug("Model file %s loaded successfully", model_pt_path)
        self.initialized = True

    def _load_torchscript_model(self, model_pt_path: str) -> Any:
        return torch.jit.load(model_pt_path, map_location=self.map_location)  # type: ignore[no-untyped-call]

    def _load_pickled_model(self, model_dir: str, model_file: str, model_pt_path: str) -> Any:
        if not os.path.isfile(os.path.join(model_dir, model_file)):
            raise RuntimeError("Missing the model.py file")
        module = importlib.import_module(model_file.split(".")[0])
        classes = list_classes_from_module(module)
        if len(classes) != 1:
            raise ValueError(f"Expected only one class as model definition. {classes}")
        state_dict = torch.load(model_pt_path, map_location=self.map_location)
        model = classes[0]()
        model.load_state_dict(state_dict)
        return model

    def inference(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        with torch.no_grad():
            return self.model(data.to(self.device), *args, **kwargs)

    def handle(self, data: Any, context: Any) -> Any:
        """Stack the batch's tensors, run the model, answer ``[output]``."""
        start_time = time.time()
        self.context = context
        metrics = self.context.metrics
        values = [torch.load(io.BytesIO(row.get("data") or row.get("body"))) for row in data]
        output = self.inference(torch.stack(values))
        metrics.add_time("HandlerTime", round((time.time() - start_time) * 1000, 2), None, "ms")
        return [output]
