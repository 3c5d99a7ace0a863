"""Tiny models for the default-handler tests, built with the test process's torch.

Each builder writes the file(s) an archive needs and returns them as ``{name: bytes}``.
TorchScript models are scripted from the classes below (module-level, so their source is
available to ``torch.jit.script``); eager models come with their ``model.py`` source.
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from tests.run.support import source


def _scripted(module: nn.Module) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # TorchScript is deprecated in recent torch; TorchServe's .pt models are TorchScript.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), buffer)
    return buffer.getvalue()


def _state_dict(module: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getvalue()


class Doubler(nn.Module):
    """x -> 2x + 1 (works on any shape)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 + 1


class TinyCNN(nn.Module):
    """An image classifier with 6 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, kernel_size=3, stride=4)
        self.fc = nn.Linear(4, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.conv(x)).mean(dim=(2, 3))
        logits: torch.Tensor = self.fc(features)
        return logits


class TinySegmenter(nn.Module):
    """Per-pixel logits for 3 classes at 1/8 resolution, as ``{"out": ...}``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, kernel_size=8, stride=8)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"out": self.conv(x)}


class FakeDetector(nn.Module):
    """A detector in torchvision's output format: per image, 4 boxes with labels and scores
    derived from the image's channel means (so they depend on the input)."""

    def forward(self, images: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        results: list[dict[str, torch.Tensor]] = []
        for image in images:
            means = image.mean(dim=(1, 2))
            scores = torch.stack([means[0], means[1], means[2], 1 - means[0]]).clamp(0, 1)
            base = torch.arange(4, dtype=torch.float32).unsqueeze(1) * 10
            boxes = torch.cat([base, base, base + 5, base + 7.5], dim=1)
            labels = torch.tensor([1, 2, 3, 1])
            results.append({"boxes": boxes, "labels": labels, "scores": scores})
        return results


class StackedNet(nn.Module):
    """For the densenet handler: a batch of [2] vectors -> their sums and products."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x.sum(dim=1), x.prod(dim=1)], dim=1)


LINEAR_MODEL = source(
    """
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)

        def forward(self, x):
            return self.linear(x)
    """
)

TEXT_MODEL = source(
    """
    import torch
    from torch import nn


    class TextNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.EmbeddingBag(12, 5, mode="mean")
            self.fc = nn.Linear(5, 3)

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))
    """
)

VOCABULARY = {
    "the": 0, "movie": 1, "was": 2, "great": 3, "not": 4, "bad": 5, "i": 6, "would": 7,
    "the movie": 8, "movie was": 9, "was great": 10, "was not": 11, "not bad": 1,
    "i would": 2, "would not": 3, "bad i": 4,
}  # fmt: skip


def _module_from_source(text: str, name: str) -> nn.Module:
    namespace: dict[str, object] = {}
    exec(compile(text, f"<{name}>", "exec"), namespace)
    cls = namespace[name]
    assert isinstance(cls, type)
    module = cls()
    assert isinstance(module, nn.Module)
    return module


def torchscript(module: nn.Module, seed: int = 0) -> bytes:
    """*module* with weights drawn from *seed*, as a TorchScript file."""
    torch.manual_seed(seed)
    for parameter in module.parameters():
        nn.init.normal_(parameter, std=0.5)
    return _scripted(module)


def linear_eager() -> dict[str, bytes]:
    """``model.py`` + ``weights.pth`` of a 3->2 linear model (eager loading)."""
    torch.manual_seed(1)
    return {
        "model.py": LINEAR_MODEL.encode(),
        "weights.pth": _state_dict(_module_from_source(LINEAR_MODEL, "Net")),
    }


def text_classifier() -> dict[str, bytes]:
    """``model.py``, ``weights.pth`` and ``source_vocab.pt`` (a plain dict, loadable with
    torch.load's weights_only default) of a tiny EmbeddingBag classifier."""
    torch.manual_seed(2)
    vocab = io.BytesIO()
    torch.save(dict(VOCABULARY), vocab)
    return {
        "model.py": TEXT_MODEL.encode(),
        "weights.pth": _state_dict(_module_from_source(TEXT_MODEL, "TextNet")),
        "source_vocab.pt": vocab.getvalue(),
    }
