"""A class handler built on TorchServe's BaseHandler.

BaseHandler.initialize() loads model.py + the state dict and reads index_to_name.json from
the model directory; this class only turns requests into tensors and scores into labels.
Each request body is JSON: {"features": [f1, f2, f3, f4]} (or just the list).
"""

import json

import torch
from ts.torch_handler.base_handler import BaseHandler


class TinyClassifierHandler(BaseHandler):
    def preprocess(self, data):
        rows = []
        for request in data:
            payload = request.get("data") or request.get("body")
            if isinstance(payload, (bytes, bytearray)):
                payload = json.loads(payload.decode("utf-8"))
            if isinstance(payload, str):
                payload = json.loads(payload)
            if isinstance(payload, dict):
                payload = payload["features"]
            rows.append(torch.tensor(payload, dtype=torch.float32))
        return torch.stack(rows).to(self.device)

    def postprocess(self, data):
        probabilities = torch.softmax(data, dim=1)
        results = []
        for row in probabilities:
            index = int(row.argmax())
            label = self.mapping.get(str(index), str(index)) if self.mapping else str(index)
            results.append({"label": label, "probability": round(float(row[index]), 6)})
        return results
