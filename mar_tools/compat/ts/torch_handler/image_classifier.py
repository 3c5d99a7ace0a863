"""``ts.torch_handler.image_classifier``: the ``image_classifier`` default handler.

ImageNet preprocessing (resize 256, center crop 224, normalize); the answer per image is the
top-5 ``{label: probability}`` of the softmax, labels from ``index_to_name.json``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..handler_utils.timer import timed
from ..utils.util import map_class_to_label
from ._image_transforms import imagenet_pipeline
from .vision_handler import VisionHandler


class ImageClassifier(VisionHandler):
    """Image in, top-``topk`` classes with their probabilities out."""

    topk = 5
    image_processing = imagenet_pipeline()

    def set_max_result_classes(self, topk: int) -> None:
        self.topk = topk

    def get_max_result_classes(self) -> int:
        return self.topk

    @timed
    def postprocess(self, data: Any) -> Any:
        ps = F.softmax(data, dim=1)
        probs, classes = torch.topk(ps, self.topk, dim=1)
        return map_class_to_label(probs.tolist(), self.mapping, classes.tolist())
