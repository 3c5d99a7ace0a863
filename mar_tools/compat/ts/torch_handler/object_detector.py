"""``ts.torch_handler.object_detector``: the ``object_detector`` default handler.

The model returns, per image, ``{"boxes", "labels", "scores"}`` (torchvision's detection
format); the answer per image lists ``{label: [x1, y1, x2, y2], "score": s}`` for every box
scoring at least ``threshold``.
"""

from __future__ import annotations

from typing import Any

from ..utils.util import map_class_to_label
from ._image_transforms import Compose, ToTensor
from .vision_handler import VisionHandler


class ObjectDetector(VisionHandler):
    """Image in, labelled boxes above ``threshold`` out."""

    image_processing = Compose([ToTensor()])
    threshold = 0.5

    def postprocess(self, data: Any) -> Any:
        keep = [row["scores"] >= self.threshold for row in data]
        boxes, classes, scores = (
            [row[key][mask].tolist() for row, mask in zip(data, keep, strict=False)]
            for key in ("boxes", "labels", "scores")
        )
        result = []
        for image_classes, image_boxes, image_scores in zip(classes, boxes, scores, strict=False):
            found = []
            for cls, box, score in zip(image_classes, image_boxes, image_scores, strict=False):
                entry = map_class_to_label([[box]], self.mapping, [[cls]])[0]
                entry["score"] = score
                found.append(entry)
            result.append(found)
        return result
