"""``ts.torch_handler.request_envelope.kserve``: the KServe v1 protocol.

Only the first request of the batch is read: its ``instances`` go to the handler; the answer
is a single ``{"predictions": ...}`` (or ``{"explanations": ...}`` for an explain request).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .base import BaseEnvelope

logger = logging.getLogger(__name__)


class KServeEnvelope(BaseEnvelope):
    """KServe v1 ``{"instances": [...]}`` in, ``[{"predictions": ...}]`` out."""

    def parse_input(self, data: Any) -> Any:
        self._data_list = [row.get("data") or row.get("body") for row in data]
        logger.debug("Parse input data_list %s", self._data_list)
        first = self._data_list[0]
        if isinstance(first, (bytes, bytearray)):
            first = json.loads(first.decode())
            logger.debug("Bytes array is %s", first)
        self._inputs = first.get("instances")
        logger.debug("kserve parsed inputs %s", self._inputs)
        return self._inputs

    def format_output(self, data: Any) -> Any:
        logger.debug("The Response of kserve %s", data)
        key = "explanations" if self._is_explain() else "predictions"
        return [{key: data}]

    def _is_explain(self) -> bool:
        if self.context and self.context.get_request_header(0, "explain"):
            return bool(self.context.get_request_header(0, "explain") == "True")
        return False
