"""The torchvision-free image transforms of the compatible ``ts`` package."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from mar_tools.compat.ts.torch_handler._image_transforms import (
    CenterCrop,
    Normalize,
    Resize,
    ToTensor,
)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((320, 240), (341, 256)), ((150, 300), (256, 512)), ((256, 400), (256, 400))],
)
def test_resize_scales_the_short_side(size: tuple[int, int], expected: tuple[int, int]) -> None:
    image = Image.new("RGB", size)
    resized = Resize(256)(image)
    assert resized.size == expected
    assert (resized is image) == (size == expected)  # unchanged images are returned as is


def test_center_crop_rounds_the_offsets() -> None:
    pixels = np.arange(7 * 5, dtype=np.uint8).reshape(5, 7)
    cropped = CenterCrop(4)(Image.fromarray(pixels, "L"))
    # left = round(1.5) = 2 (round half to even), top = round(0.5) = 0
    assert np.asarray(cropped).tolist() == pixels[0:4, 2:6].tolist()


def test_center_crop_pads_a_small_image_with_zeros() -> None:
    image = Image.new("RGB", (3, 2), (9, 9, 9))
    padded = np.asarray(CenterCrop(4)(image))[:, :, 0]
    assert padded.tolist() == [[0, 0, 0, 0], [9, 9, 9, 0], [9, 9, 9, 0], [0, 0, 0, 0]]


def test_to_tensor_scales_8_bit_images_and_keeps_wide_ones() -> None:
    rgba = Image.new("RGBA", (2, 1), (255, 0, 51, 102))
    expected = torch.tensor([255, 0, 51, 102], dtype=torch.float32).div(255)
    assert torch.equal(ToTensor()(rgba), expected.view(4, 1, 1).expand(4, 1, 2))
    bilevel = Image.new("1", (1, 1), 1)
    assert ToTensor()(bilevel).tolist() == [[[1.0]]]
    wide = Image.new("I", (1, 1), 70000)
    assert ToTensor()(wide).dtype == torch.int32 and ToTensor()(wide).item() == 70000
    floats = Image.new("F", (1, 1), 0.25)
    assert ToTensor()(floats).tolist() == [[[0.25]]]


def test_normalize_works_on_a_copy_and_checks_its_input() -> None:
    tensor = torch.ones(3, 1, 1)
    result = Normalize([0.5, 0.5, 0.5], [0.5, 0.25, 1.0])(tensor)
    assert result.flatten().tolist() == [1.0, 2.0, 0.5]
    assert tensor.flatten().tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="should be a float tensor"):
        Normalize([0.0], [1.0])(torch.ones(1, 1, 1, dtype=torch.uint8))
    with pytest.raises(ValueError, match="division by zero"):
        Normalize([0.0], [0.0])(torch.ones(1, 1, 1))
