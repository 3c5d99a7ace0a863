"""``ts.torch_handler.image_segmenter``: the ``image_segmenter`` default handler.

The model returns ``{"out": logits [N, K, H, W]}``; the answer per image is ``[H][W][2]``:
the most likely class (as a float) and its probability, for every pixel.
"""

from __future__ import annotations

from typing import Any

import torch

from ._image_transforms import imagenet_pipeline
from .vision_handler import VisionHandler


class ImageSegmenter(VisionHandler):
    """Image in, per-pixel (class, probability) out."""

    image_processing = imagenet_pipeline()

    def postprocess(self, data: Any) -> Any:
        probabilities = torch.nn.functional.softmax(data["out"], dim=1)
        best = torch.max(probabilities, dim=1)
        stacked = torch.stack([best.indices.type(best.values.dtype), best.values], dim=3)
        return stacked.tolist()
