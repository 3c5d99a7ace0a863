"""``ts.torch_handler.request_envelope.json``: TensorFlow-Serving style JSON.

Each request holds ``{"instances": [...]}`` (``{"b64": ...}`` values are decoded); all
instances of the batch go to the handler as one flat list, and the results are split back
into ``{"predictions": [...]}`` per request.
"""

from __future__ import annotations

from base64 import b64decode
from itertools import chain
from json import dumps
from typing import Any

from .base import BaseEnvelope


class JSONEnvelope(BaseEnvelope):
    """Flattens the batch's instances; re-splits the predictions by request."""

    _lengths: list[int] = []  # noqa: RUF012 (a per-batch value, reassigned in parse_input)

    def parse_input(self, data: Any) -> Any:
        lengths, batch = self._batch_from_json(data)
        self._lengths = lengths
        return batch

    def format_output(self, data: Any) -> Any:
        return self._batch_to_json(data, self._lengths)

    def _batch_from_json(self, data_rows: Any) -> tuple[list[int], list[Any]]:
        mini_batches = [self._from_json(row) for row in data_rows]
        return [len(mini) for mini in mini_batches], list(chain.from_iterable(mini_batches))

    def _from_json(self, data: Any) -> Any:
        rows = (data.get("data") or data.get("body") or data)["instances"]
        if isinstance(rows[0], dict):
            for index, row in enumerate(rows):
                if list(row.keys()) == ["b64"]:
                    rows[index] = b64decode(row["b64"])
                    continue
                for column, value in row.items():
                    if isinstance(value, dict) and list(value.keys()) == ["b64"]:
                        row[column] = b64decode(value["b64"])
        return rows

    def _batch_to_json(self, batch: Any, lengths: list[int]) -> list[str]:
        outputs = []
        cursor = 0
        for length in lengths:
            outputs.append(self._to_json(batch[cursor : cursor + length]))
            cursor += length
        return outputs

    def _to_json(self, output: Any) -> str:
        return dumps({"predictions": output})
