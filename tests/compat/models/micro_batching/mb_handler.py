"""A micro-batching handler in the style of TorchServe's examples/micro_batching.

``MicroBatching`` is the entry point; model-config.yaml's ``micro_batching`` section sets
the micro-batch size and the threads per stage. The "model" needs no weights: ``2x + 1``.
Each answer tells how many rows the micro-batch that computed it had, and whether every
stage saw the same, valid micro-batch index (TorchServe orders a batch by the arrival of
its requests, so the index itself is not compared).
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import torch

# Imported by name: TorchServe's own ts package there, mar-tools' here (the type checker
# sees neither).
MicroBatching: Any = importlib.import_module("ts.handler_utils.micro_batching").MicroBatching
BaseHandler: Any = importlib.import_module("ts.torch_handler.base_handler").BaseHandler


class MicroBatchingHandler(BaseHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.handle = MicroBatching(self)

    def initialize(self, ctx: Any) -> None:
        self.batch_size = ctx.system_properties["batch_size"]
        self.device = torch.device("cpu")
        self.model = lambda tensor: tensor * 2 + 1
        settings = ctx.model_yaml_config.get("micro_batching", {})
        if settings.get("parallelism"):
            self.handle.parallelism = settings["parallelism"]
        self.handle.micro_batch_size = settings.get("micro_batch_size", 1)
        self.initialized = True

    def preprocess(self, data: list[dict[str, Any]]) -> tuple[int, torch.Tensor]:
        rows = [row.get("data") or row.get("body") for row in data]
        return self.handle.get_micro_batch_idx(), torch.tensor(rows, dtype=torch.float32)

    def inference(self, data: tuple[int, torch.Tensor]) -> tuple[int, torch.Tensor]:
        index, tensor = data
        return index, super().inference(tensor)

    def postprocess(self, data: tuple[int, torch.Tensor]) -> list[dict[str, Any]]:
        index, output = data
        slices = math.ceil(self.batch_size / self.handle.micro_batch_size)
        threads = {stage: len(group) for stage, group in self.handle.thread_groups.items()}
        return [
            {
                "out": row,
                "micro_batch_rows": len(output),
                "index_ok": index == self.handle.get_micro_batch_idx() and index < slices,
                "threads": threads,
            }
            for row in output.tolist()
        ]
