"""A micro-batching handler in the style of TorchServe's examples/micro_batching.

``MicroBatching`` is the entry point; model-config.yaml's ``micro_batching`` section sets
the micro-batch size and the threads per stage. The "model" needs no weights: ``2x + 1``.
Each answer tells how many rows the micro-batch that computed it had, and whether every
stage saw the same, valid micro-batch index (TorchServe orders a batch by the arrival of
its requests, so the index itself is not compared).
"""

import math

import torch
from ts.handler_utils.micro_batching import MicroBatching
from ts.torch_handler.base_handler import BaseHandler


class MicroBatchingHandler(BaseHandler):
    def __init__(self):
        super().__init__()
        self.handle = MicroBatching(self)

    def initialize(self, ctx):
        self.batch_size = ctx.system_properties["batch_size"]
        self.device = torch.device("cpu")
        self.model = lambda tensor: tensor * 2 + 1
        settings = ctx.model_yaml_config.get("micro_batching", {})
        if settings.get("parallelism"):
            self.handle.parallelism = settings["parallelism"]
        self.handle.micro_batch_size = settings.get("micro_batch_size", 1)
        self.initialized = True

    def preprocess(self, data):
        rows = [row.get("data") or row.get("body") for row in data]
        return self.handle.get_micro_batch_idx(), torch.tensor(rows, dtype=torch.float32)

    def inference(self, data):
        index, tensor = data
        return index, super().inference(tensor)

    def postprocess(self, data):
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
