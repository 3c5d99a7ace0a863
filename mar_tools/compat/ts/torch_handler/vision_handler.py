"""``ts.torch_handler.vision_handler``: base of the image handlers.

Rows hold an image as bytes (decoded with Pillow and passed through ``image_processing``),
as a base64 string, or as a nested list of numbers. Explanations use captum's
``IntegratedGradients``, imported only when an explanation is asked for.
"""

from __future__ import annotations

import base64
import io
from abc import ABC
from collections.abc import Callable
from typing import Any

import torch
from PIL import Image

from ..handler_utils.timer import timed
from ._captum import captum_attr
from .base_handler import BaseHandler


def _image_tensor(handler: VisionHandler, payload: Any) -> Any:
    """One request's image as a tensor: base64 text and raw bytes are decoded with Pillow
    and passed through ``image_processing``; anything else is taken as nested numbers."""
    raw = base64.b64decode(payload) if isinstance(payload, str) else payload
    if not isinstance(raw, (bytes, bytearray)):
        return torch.FloatTensor(raw)
    return handler.image_processing(Image.open(io.BytesIO(raw)))


class VisionHandler(BaseHandler, ABC):
    """Decodes images, stacks them into one batch tensor; ``get_insights`` via captum."""

    _ig: Any = None
    #: PIL image -> tensor; each concrete handler sets its own pipeline.
    image_processing: Callable[[Any], Any]

    def initialize(self, context: Any) -> None:
        super().initialize(context)
        self.initialized = True
        if not context.system_properties.get("limit_max_image_pixels"):
            Image.MAX_IMAGE_PIXELS = None

    @property
    def ig(self) -> Any:
        """captum ``IntegratedGradients`` over the model (built on first use)."""
        if self._ig is None:
            self._ig = captum_attr().IntegratedGradients(self.model)
        return self._ig

    @ig.setter
    def ig(self, value: Any) -> None:
        self._ig = value

    @timed
    def preprocess(self, data: Any) -> Any:
        """Each row's ``data``/``body`` -> a tensor; all of them stacked on the device."""
        tensors = [_image_tensor(self, row.get("data") or row.get("body")) for row in data]
        return torch.stack(tensors).to(self.device)

    def get_insights(self, tensor_data: Any, _: Any, target: Any = 0) -> Any:
        """Integrated-gradients attributions of *tensor_data* for class *target*."""
        print("input shape", tensor_data.shape)
        return self.ig.attribute(tensor_data, target=target, n_steps=15).tolist()
