"""``ts.model_service.model_service``: ``ModelService`` and ``SingleNodeService``, the
handler base classes of MXNet Model Server that TorchServe 0.12 still ships.

A subclass defines a no-argument ``__init__`` (TorchServe instantiates handler classes
without arguments) that calls ``super().__init__(model_name, model_dir, manifest)``.
``initialize`` reads the signature file named by the legacy manifest entry
``Model.Signature``; ``handle`` takes the first request's input (the signature's first
input name, else ``body``, else ``data``; evaluated as a Python literal when the signature's
input type is ``application/json`` and the value is bytes) and returns ``inference([it])``,
wrapped in a list unless it already is one. ``SingleNodeService.inference`` runs
``_preprocess``, ``_inference`` and ``_postprocess`` (identity by default) and logs each
step's time.

Methods upstream marks abstract are not enforced there (its ``__metaclass__`` attribute has
no effect in Python 3), so a subclass without ``ping`` or ``_inference`` works; the same
holds here.
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH113, PTH118

from __future__ import annotations

import ast
import json
import logging
import os
import time
from typing import Any


def _first_present(row: dict[str, Any], *names: str) -> Any:
    """The value of the first of *names* whose value in *row* is not None."""
    for name in names:
        value = row.get(name)
        if value is not None:
            return value
    return None


class ModelService:
    """Signature-driven model service; subclasses implement ``inference`` (and ``ping``)."""

    def __init__(self, model_name: Any, model_dir: Any, manifest: Any, gpu: Any = None) -> None:
        # The arguments are accepted and ignored, as upstream.
        self._signature: Any = None
        self._context: Any = None
        self.ctx: Any = None

    def initialize(self, context: Any) -> None:
        """Remember *context* and load the signature file (``ValueError`` when missing)."""
        self._context = context
        model_dir = context.system_properties.get("model_dir")
        path = os.path.join(model_dir, context.manifest["Model"]["Signature"])
        if not os.path.isfile(path):
            raise ValueError("Signature file is not found.")
        with open(path) as handle:
            self._signature = json.load(handle)

    def inference(self, data: Any) -> Any:
        """Run the model on *data* (the list of inputs); to be overridden."""
        return None

    def ping(self) -> Any:
        """Health check; to be overridden."""
        return None

    def signature(self) -> Any:
        """The signature document read by :meth:`initialize`."""
        return self._signature

    def handle(self, data: Any, context: Any) -> Any:
        """Backward-compatible entry point: the first request's input through
        :meth:`inference`."""
        expected_type = self._signature["input_type"]
        input_name = self._signature["inputs"][0]["data_name"]
        value = _first_present(data[0], input_name, "body", "data")
        if expected_type == "application/json" and isinstance(value, (bytes, bytearray)):
            value = ast.literal_eval(value.decode("utf-8"))
        answer = self.inference([value])
        return answer if isinstance(answer, list) else [answer]


class SingleNodeService(ModelService):
    """A service around a single model: ``_preprocess`` -> ``_inference`` ->
    ``_postprocess``, each timed and logged in milliseconds."""

    def inference(self, data: Any) -> Any:
        marks = [time.time()]
        for step in (self._preprocess, self._inference, self._postprocess):
            data = step(data)
            marks.append(time.time())
        for label, started, ended in zip(
            ("preprocess", "inference", "postprocess"), marks, marks[1:], strict=False
        ):
            logging.info(f"{label} time: %.2f", (ended - started) * 1000)
        return data

    def _inference(self, data: Any) -> Any:
        """Forward computation; identity by default."""
        return data

    def _preprocess(self, data: Any) -> Any:
        """Raw inputs -> model inputs; identity by default."""
        return data

    def _postprocess(self, data: Any) -> Any:
        """Model outputs -> responses; identity by default."""
        return data
