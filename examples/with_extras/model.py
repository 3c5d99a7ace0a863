"""A bag-of-words sentiment model: word counts over a fixed vocabulary in, two scores out."""

import torch
from torch import nn

VOCABULARY_SIZE = 8


class BagOfWords(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(VOCABULARY_SIZE, 2)

    def forward(self, counts: torch.Tensor) -> torch.Tensor:
        return self.linear(counts)
