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


class KServev2Envelope(BaseEnvelope):
    """KServe v2 ``{"inputs": [...]}`` in, ``[{"id", "model_name", ..., "outputs"}]`` out."""

    def parse_input(self, data: Any) -> Any:
        logger.debug("Parsing input in KServe v2 format %s", data)
        inputs = self._batch_from_json(data)
        logger.debug("KServev2 parsed inputs %s", inputs)
        return inputs

    def _batch_from_json(self, rows: Any) -> Any:
        logger.debug("Parse input data %s", rows)
        return self._from_json([row.get("data") or row.get("body") for row in rows])

    def _from_json(self, body_list: Any) -> Any:
        if isinstance(body_list[0], (bytes, bytearray)):
            body_list = [json.loads(body.decode("utf8")) for body in body_list]
            logger.debug("Bytes array is %s", body_list)
        first = body_list[0]
        input_names = []
        for item in first["inputs"]:
            if item["datatype"] == "BYTES":
                item["data"] = item["data"][0]
            else:
                item["data"] = np.array(item["data"]).reshape(tuple(item["shape"])).tolist()
            input_names.append(item["name"])
        self.context.input_names = input_names
        logger.debug("Bytes array is %s", body_list)
        request_id = first.get("id")
        if request_id and request_id.strip():
            self.context.input_request_id = first["id"]
        return first.get("inputs")

    def format_output(self, data: Any) -> Any:
        logger.debug("The Response of KServe v2 format %s", data)
        response: dict[str, Any] = {}
        if hasattr(self.context, "input_request_id"):
            response["id"] = self.context.input_request_id
            delattr(self.context, "input_request_id")
        else:
            response["id"] = self.context.get_request_id(0)
        model = self.context.manifest.get("model")
        response["model_name"] = model.get("modelName")
        response["model_version"] = model.get("modelVersion")
        response["outputs"] = self._batch_to_json(data)
        return [response]

    def _batch_to_json(self, data: Any) -> list[dict[str, Any]]:
        input_names = self.context.input_names
        delattr(self.context, "input_names")
        return [self._to_json(item, input_names[index]) for index, item in enumerate(data)]

    def _to_json(self, data: Any, input_name: str) -> dict[str, Any]:
        flat = np.array(data).flatten()
        return {
            "name": input_name,
            "datatype": _to_datatype(flat.dtype),
            "data": flat.tolist(),
            "shape": flat.flatten().shape,
        }
