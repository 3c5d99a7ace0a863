"""An eager-mode model: TorchServe's BaseHandler imports this file and instantiates its only
class with no arguments, then loads the state dict given as --serialized-file."""

import torch
from torch import nn


class TinyClassifier(nn.Module):
    """Four features in, scores for three classes out."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)
