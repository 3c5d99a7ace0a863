"""A handler that needs everything an archive can carry besides the model:

* a Python dependency from requirements.txt (``tinydep``, a wheel shipped in the archive);
* model-config.yaml: its ``handler`` section says which vocabulary and label set to use;
* extra files: ``vocab.txt`` (from the ``assets`` directory) and ``en.json``/``fr.json``
  (from the ``labels/*.json`` glob), all at the archive root in upstream's flat layout.

Each request body is plain text; the answer is {"label": ..., "words": [...]}.
"""

import json
from pathlib import Path

import torch
from tinydep import normalize
from ts.torch_handler.base_handler import BaseHandler


class SentimentHandler(BaseHandler):
    def initialize(self, context):
        super().initialize(context)
        settings = (context.model_yaml_config or {}).get("handler", {})
        model_dir = Path(context.system_properties["model_dir"])
        vocabulary = (model_dir / settings.get("vocab_file", "vocab.txt")).read_text()
        self.vocabulary = vocabulary.split()
        language = settings.get("language", "en")
        self.labels = json.loads((model_dir / f"{language}.json").read_text())

    def preprocess(self, data):
        self.words = []
        rows = []
        for request in data:
            payload = request.get("data") or request.get("body") or b""
            if isinstance(payload, (bytes, bytearray)):
                payload = payload.decode("utf-8")
            words = normalize(str(payload))
            self.words.append(words)
            counts = [float(words.count(term)) for term in self.vocabulary]
            rows.append(torch.tensor(counts))
        return torch.stack(rows).to(self.device)

    def postprocess(self, data):
        return [
            {"label": self.labels[str(int(row.argmax()))], "words": words}
            # No zip(strict=...): handlers may run on TorchServe's older Pythons.
            for row, words in zip(data, self.words)  # noqa: B905
        ]
