"""``ts.torch_handler.request_envelope.json``: TensorFlow-Serving style JSON.

Each request holds ``{"instances": [...]}`` (``{"b64": ...}`` values are decoded); all
instances of the batch go to the handler as one flat list, and the results are split back
into ``{"predictions": [...]}`` per request.
"""

from __future__ import annotations

from base64 import b64decode
from itertools import accumulate
from json import dumps
from typing import Any

from .base import BaseEnvelope


def _is_b64(value: Any) -> bool:
    """A ``{"b64": "..."}`` object (exactly that one key)."""
    return isinstance(value, dict) and list(value.keys()) == ["b64"]


def _decoded(instance: Any) -> Any:
    """An instance with its base64 parts decoded: the whole instance when it is a
    ``{"b64": ...}`` object, else each such column (in place). Every instance must be an
    object once the first one is (else ``AttributeError``, as upstream)."""
    if list(instance.keys()) == ["b64"]:
        return b64decode(instance["b64"])
    for column, value in list(instance.items()):
        if _is_b64(value):
            instance[column] = b64decode(value["b64"])
    return instance


class JSONEnvelope(BaseEnvelope):
    """Flattens the batch's instances; re-splits the predictions by request."""

    _lengths: list[int] = []  # noqa: RUF012 (a per-batch value, reassigned in parse_input)

    def parse_input(self, data: Any) -> Any:
        self._lengths, flat = self._batch_from_json(data)
        return flat

    def format_output(self, data: Any) -> Any:
        return self._batch_to_json(data, self._lengths)

    def _batch_from_json(self, data_rows: Any) -> tuple[list[int], list[Any]]:
        """(number of instances per request, every instance of the batch in order)."""
        per_request = [self._from_json(row) for row in data_rows]
        flat = [instance for instances in per_request for instance in instances]
        return [len(instances) for instances in per_request], flat

    def _from_json(self, data: Any) -> Any:
        """The ``instances`` of one request (its data, body, or the row itself)."""
        instances = (data.get("data") or data.get("body") or data)["instances"]
        if isinstance(instances[0], dict):
            # Only a batch whose first instance is an object is searched for base64.
            instances[:] = [_decoded(instance) for instance in instances]
        return instances

    def _batch_to_json(self, batch: Any, lengths: list[int]) -> list[str]:
        """One ``{"predictions": [...]}`` document per request, *lengths* outputs each."""
        return [
            self._to_json(batch[end - length : end])
            for length, end in zip(lengths, accumulate(lengths), strict=True)
        ]

    def _to_json(self, output: Any) -> str:
        return dumps({"predictions": output})
