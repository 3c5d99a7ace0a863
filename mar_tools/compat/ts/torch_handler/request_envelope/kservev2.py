"""``ts.torch_handler.request_envelope.kservev2``: the KServe v2 (open inference) protocol.

Only the first request is read: each of its ``inputs`` reaches the handler with ``data``
reshaped to ``shape`` (``BYTES`` inputs: the first element); each result becomes an output
``{"name", "datatype", "data" (flattened), "shape"}`` named after the matching input. Needs
numpy, like TorchServe's.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np

from .base import BaseEnvelope

logger = logging.getLogger(__name__)

_DatatypeToNumpy = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "byte",
}
_NumpyToDatatype = {value: key for key, value in _DatatypeToNumpy.items()}
_NumpyToDatatype["object"] = "BYTES"
_NumpyToDatatype["U"] = "BYTES"  # unicode strings, looked up by dtype kind


def _to_dtype(datatype: str) -> np.dtype[Any]:
    return np.dtype(_DatatypeToNumpy[datatype])


def _to_datatype(dtype: np.dtype[Any]) -> str:
    name = str(dtype)
    if name not in _NumpyToDatatype:
        name = dtype.kind
    return _NumpyToDatatype[name]


def _logged(message: str, value: Any) -> Any:
    """Log *value* at debug level with *message*, and return it."""
    logger.debug(message, value)
    return value


def _reshaped(item: dict[str, Any]) -> Any:
    """Reshape one v2 input's ``data`` in place (``BYTES``: its first element only) and
    return the input's name."""
    values = item["data"]
    if item["datatype"] == "BYTES":
        item["data"] = values[0]
    else:
        item["data"] = np.array(values).reshape(tuple(item["shape"])).tolist()
    return item["name"]


class KServev2Envelope(BaseEnvelope):
    """KServe v2 ``{"inputs": [...]}`` in, ``[{"id", "model_name", ..., "outputs"}]`` out.

    The input names (and a non-blank request ``id``) are kept on the context between
    ``parse_input`` and ``format_output``, as ``input_names`` / ``input_request_id``.
    """

    def parse_input(self, data: Any) -> Any:
        logger.debug("Parsing input in KServe v2 format %s", data)
        return _logged("KServev2 parsed inputs %s", self._batch_from_json(data))

    def _batch_from_json(self, rows: Any) -> Any:
        logger.debug("Parse input data %s", rows)
        return self._from_json([row.get("data") or row.get("body") for row in rows])

    def _from_json(self, body_list: Any) -> Any:
        if isinstance(body_list[0], (bytes, bytearray)):
            body_list = _logged(
                "Bytes array is %s", [json.loads(body.decode("utf8")) for body in body_list]
            )
        request = body_list[0]
        self.context.input_names = [_reshaped(item) for item in request["inputs"]]
        logger.debug("Bytes array is %s", body_list)
        given_id = request.get("id")
        if given_id and given_id.strip():
            self.context.input_request_id = given_id
        # Every request is asked for its inputs (a non-dict one fails), the first is used.
        every_input = [body.get("inputs") for body in body_list]
        return every_input[0]

    def format_output(self, data: Any) -> Any:
        logger.debug("The Response of KServe v2 format %s", data)
        context = self.context
        if hasattr(context, "input_request_id"):
            answer_id = context.input_request_id
            del context.input_request_id
        else:
            answer_id = context.get_request_id(0)
        model = context.manifest.get("model")
        return [
            {
                "id": answer_id,
                "model_name": model.get("modelName"),
                "model_version": model.get("modelVersion"),
                "outputs": self._batch_to_json(data),
            }
        ]

    def _batch_to_json(self, data: Any) -> list[dict[str, Any]]:
        names = self.context.input_names
        del self.context.input_names
        # More outputs than inputs fails (IndexError), as upstream.
        return [self._to_json(item, names[position]) for position, item in enumerate(data)]

    def _to_json(self, data: Any, input_name: str) -> dict[str, Any]:
        flat = np.array(data).flatten()
        return {
            "name": input_name,
            "datatype": _to_datatype(flat.dtype),
            "data": flat.tolist(),
            "shape": flat.shape,
        }
