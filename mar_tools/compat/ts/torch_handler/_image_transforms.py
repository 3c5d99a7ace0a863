"""The four image transforms TorchServe's vision handlers use, without torchvision.

``Resize(n)``, ``CenterCrop(n)``, ``ToTensor()`` and ``Normalize(mean, std)`` give the same
tensors as ``torchvision.transforms`` for PIL images: the same output sizes (short side to
*n*, ``int(n * long / short)`` for the other), the same Pillow resampling call (bilinear),
the same crop box rounding and zero padding, the same dtype conversions and the same
float32 arithmetic. Tensors as inputs are not supported (the handlers only pass PIL images).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image, ImageOps

# Image.Resampling exists from Pillow 9.1 on; older releases have the module constant.
_BILINEAR = getattr(Image, "Resampling", Image).BILINEAR


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for transform in self.transforms:
            img = transform(img)
        return img


class Resize:
    """Scale a PIL image so that its shorter side is ``size`` (bilinear)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, img: Image.Image) -> Image.Image:
        width, height = img.size
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.size, int(self.size * long / short)
        new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
        if (new_w, new_h) == (width, height):
            return img
        return img.resize((new_w, new_h), _BILINEAR)


class CenterCrop:
    """Crop the central ``size`` x ``size`` box, zero-padding an image that is too small."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, img: Image.Image) -> Image.Image:
        crop_h = crop_w = self.size
        width, height = img.size
        if crop_w > width or crop_h > height:
            border = (
                (crop_w - width) // 2 if crop_w > width else 0,
                (crop_h - height) // 2 if crop_h > height else 0,
                (crop_w - width + 1) // 2 if crop_w > width else 0,
                (crop_h - height + 1) // 2 if crop_h > height else 0,
            )
            img = _pad(img, border)
            width, height = img.size
            if (crop_w, crop_h) == (width, height):
                return img
        top = round((height - crop_h) / 2.0)
        left = round((width - crop_w) / 2.0)
        return img.crop((left, top, left + crop_w, top + crop_h))


def _pad(img: Image.Image, border: tuple[int, int, int, int]) -> Image.Image:
    bands = len(img.getbands())
    fill: int | tuple[int, ...] = (0,) * bands if bands > 1 else 0
    if img.mode == "P":
        palette = img.getpalette()
        padded = ImageOps.expand(img, border=border, fill=fill)
        if palette is not None:
            padded.putpalette(palette)
        return padded
    return ImageOps.expand(img, border=border, fill=fill)


# PIL modes whose pixels are not one byte per band, and the tensor dtype they become.
_WIDE_MODES: dict[str, torch.dtype] = {"I": torch.int32, "F": torch.float32}
if sys.byteorder == "little":
    _WIDE_MODES["I;16"] = torch.int16
else:  # pragma: no cover - big-endian machines
    _WIDE_MODES["I;16B"] = torch.int16


class ToTensor:
    """PIL image -> CHW tensor; 8-bit images become floats in [0, 1]."""

    def __call__(self, pic: Image.Image) -> torch.Tensor:
        width, height = pic.size
        channels = len(pic.getbands())
        if pic.mode in _WIDE_MODES:
            img = torch.frombuffer(bytearray(pic.tobytes()), dtype=_WIDE_MODES[pic.mode])
        elif pic.mode == "1":
            # A bilevel image is 0/1 per pixel, scaled to 0/255 like torchvision does.
            img = torch.frombuffer(bytearray(pic.convert("L").tobytes()), dtype=torch.uint8)
        else:
            img = _uint8_pixels(pic, width * height * channels)
        img = img.view(height, width, channels).permute((2, 0, 1)).contiguous()
        if img.dtype == torch.uint8:
            return img.to(dtype=torch.get_default_dtype()).div(255)
        return img


def _uint8_pixels(pic: Image.Image, count: int) -> torch.Tensor:
    raw = pic.tobytes()
    if len(raw) == count:
        return torch.frombuffer(bytearray(raw), dtype=torch.uint8)
    # A mode with wider samples (e.g. I;16B): torchvision casts its values to uint8.
    import numpy

    return torch.from_numpy(numpy.array(pic, numpy.uint8, copy=True))


class Normalize:
    """``(tensor - mean) / std`` per channel, on a copy."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = list(mean)
        self.std = list(std)

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError(
                "Expected tensor to be a tensor image of size (..., C, H, W). Got "
                f"tensor.size() = {tensor.size()}"
            )
        tensor = tensor.clone()
        mean = torch.as_tensor(self.mean, dtype=tensor.dtype, device=tensor.device)
        std = torch.as_tensor(self.std, dtype=tensor.dtype, device=tensor.device)
        if (std == 0).any():
            raise ValueError(
                f"std evaluated to zero after conversion to {tensor.dtype}, "
                "leading to division by zero."
            )
        if mean.ndim == 1:
            mean = mean.view(-1, 1, 1)
        if std.ndim == 1:
            std = std.view(-1, 1, 1)
        return tensor.sub_(mean).div_(std)


#: The ImageNet statistics TorchServe's image handlers normalize with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_pipeline() -> Compose:
    """Resize(256), CenterCrop(224), ToTensor(), Normalize(ImageNet): the classifier's input."""
    return Compose(
        [Resize(256), CenterCrop(224), ToTensor(), Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    )
