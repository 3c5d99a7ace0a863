"""A small eager model for start-up benchmarks: a seeded ``Linear(16, 4)`` + softmax behind a
``BaseHandler`` subclass, as TorchServe users write them. Its weights are generated here with
torch (in a subprocess, so that the benchmark process never imports torch).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

MODEL_PY = """\
import torch


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(16, 4)

    def forward(self, x):
        return torch.softmax(self.layer(x), dim=-1)
"""

HANDLER_PY = '''\
import json

import torch
from ts.torch_handler.base_handler import BaseHandler


class TinyHandler(BaseHandler):
    """BaseHandler with a JSON-list preprocess: one row of 16 floats per request."""

    def preprocess(self, data):
        rows = []
        for row in data:
            value = row.get("data") or row.get("body")
            if isinstance(value, (bytes, bytearray)):
                value = json.loads(value)
            rows.append(value)
        return torch.tensor(rows, dtype=torch.float32)
'''

WEIGHTS_PY = """\
import torch
from model import TinyNet
torch.manual_seed(0)
torch.save(TinyNet().state_dict(), "tiny.pt")
"""

#: Archiver arguments, relative to the directory :func:`write_tiny_model` fills.
ARCHIVER_ARGS = (
    "--model-file",
    "model.py",
    "--serialized-file",
    "tiny.pt",
    "--handler",
    "handler.py",
    "-v",
    "1.0",
)
INPUT = "input.json"


def write_tiny_model(directory: Path, python: Path) -> Path:
    """Write the model's sources, weights (made by *python*, which has torch) and an input.

    Returns *directory*. Raises ``subprocess.CalledProcessError`` if torch fails.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.py").write_text(MODEL_PY)
    (directory / "handler.py").write_text(HANDLER_PY)
    (directory / INPUT).write_text(json.dumps([round(0.1 * i, 1) for i in range(16)]))
    subprocess.run([str(python), "-c", WEIGHTS_PY], cwd=directory, check=True, capture_output=True)
    return directory
