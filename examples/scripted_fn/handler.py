"""A module-level function handler with a custom name: archive it as --handler handler:my_fn.

TorchServe calls the entry point once with data=None when the model loads (load the model
then), and then with each batch: a list of requests, one result per request.
Each request body is JSON: {"values": [x1, x2, ...]} (or just the list).
"""

import json
from pathlib import Path

import torch

_model = None


def _load(context):
    properties = context.system_properties
    weights = context.manifest["model"]["serializedFile"]
    model = torch.jit.load(str(Path(properties["model_dir"]) / weights), map_location="cpu")
    model.eval()
    return model


def _values(request):
    payload = request.get("data") or request.get("body")
    if isinstance(payload, (bytes, bytearray)):
        payload = json.loads(payload.decode("utf-8"))
    if isinstance(payload, str):
        payload = json.loads(payload)
    if isinstance(payload, dict):
        payload = payload["values"]
    return torch.tensor(payload, dtype=torch.float32)


def my_fn(data, context):
    global _model
    if data is None:
        _model = _load(context)
        return None
    with torch.inference_mode():
        return [_model(_values(request)).tolist() for request in data]
