"""``ts.context``: the ``Context`` handed to handlers and the per-request ``RequestProcessor``.

Same constructor, attributes and methods as TorchServe 0.12, so handlers that read
``context.system_properties``, request headers or set response status/headers behave alike.
"""

from __future__ import annotations

import os
from typing import Any

#: Attribute suffix -> (environment variable, default header name) of stateful sequences.
_SEQUENCE_HEADERS = {
    suffix: (f"TS_REQUEST_SEQUENCE_{suffix.upper()}", f"ts_request_sequence_{suffix}")
    for suffix in ("id", "start", "end")
}


class Context:
    """What a handler knows about its model and, during ``handle``, about the current batch.

    ``system_properties`` holds ``model_dir``, ``gpu_id`` (None on CPU), ``batch_size``,
    ``server_name`` (``"MMS"``), ``server_version`` and ``limit_max_image_pixels``, in
    that order. The names of the sequence headers come from ``TS_REQUEST_SEQUENCE_ID``,
    ``_START`` and ``_END`` (defaults ``ts_request_sequence_id``, ``_start``, ``_end``).
    """

    header_key_sequence_id: str
    header_key_sequence_start: str
    header_key_sequence_end: str

    def __init__(
        self,
        model_name: str,
        model_dir: str,
        manifest: Any,
        batch_size: int | None,
        gpu: int | None,
        mms_version: str,
        limit_max_image_pixels: bool = True,
        metrics: Any = None,
        model_yaml_config: Any = None,
    ) -> None:
        self._system_properties: dict[str, Any] = {
            "model_dir": model_dir,
            "gpu_id": gpu,
            "batch_size": batch_size,
            "server_name": "MMS",
            "server_version": mms_version,
            "limit_max_image_pixels": limit_max_image_pixels,
        }
        self.model_name, self.manifest = model_name, manifest
        self.model_yaml_config = model_yaml_config
        self.metrics = metrics
        # Set per batch by the service.
        self.request_ids: dict[int, str] | None = None
        self.request_processor = None
        self.stopping_criteria: Any = None
        self._limit_max_image_pixels = True  # kept for attribute parity; never read
        for suffix, (variable, default) in _SEQUENCE_HEADERS.items():
            setattr(self, f"header_key_sequence_{suffix}", os.getenv(variable, default))

    @property
    def system_properties(self) -> dict[str, Any]:
        return self._system_properties

    @property
    def request_processor(self) -> list[RequestProcessor] | None:
        return self._request_processor

    @request_processor.setter
    def request_processor(self, request_processor: list[RequestProcessor] | None) -> None:
        self._request_processor = request_processor

    @property
    def metrics(self) -> Any:
        return self._metrics

    @metrics.setter
    def metrics(self, metrics: Any) -> None:
        self._metrics = metrics

    def _processor(self, idx: int) -> RequestProcessor:
        processors = self._request_processor
        if processors is None:
            # TorchServe fails the same way (subscripting None) outside of handle().
            raise TypeError("'NoneType' object is not subscriptable")
        return processors[idx]

    def get_request_id(self, idx: int = 0) -> str | None:
        """The id of request *idx* of the current batch, or None outside of ``handle``."""
        ids = self.request_ids
        return None if ids is None else ids.get(idx)

    def get_request_header(self, idx: int, key: str) -> Any:
        """A request header of request *idx* (a parameter name gives ``{"content-type": ...}``)."""
        return self._processor(idx).get_request_property(key)

    def get_all_request_header(self, idx: int) -> dict[str, Any]:
        return self._processor(idx).get_request_properties()

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.set_response_header(idx, "content-type", value)

    def get_response_content_type(self, idx: int) -> str | None:
        value: str | None = self.get_response_headers(idx).get("content-type")
        return value

    def get_response_status(self, idx: int) -> tuple[int, str | None]:
        processor = self._processor(idx)
        return processor.get_response_status_code(), processor.get_response_status_phrase()

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        """Set the HTTP status (and reason phrase) of request *idx* of the current batch."""
        processors = self._request_processor
        if processors is not None and processors[idx] is not None:
            processors[idx].report_status(code, reason_phrase=phrase)

    def set_all_response_status(self, code: int = 200, phrase: str = "") -> None:
        for processor in self._request_processor or []:
            processor.report_status(code, reason_phrase=phrase)

    def get_response_headers(self, idx: int) -> dict[str, str]:
        return self._processor(idx).get_response_headers()

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self._processor(idx).add_response_property(key, value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Context) and self.__dict__ == other.__dict__

    def get_sequence_id(self, idx: int) -> Any:
        return self._processor(idx).get_request_property(self.header_key_sequence_id)


class RequestProcessor:
    """Request headers of one request, and the status/headers of its response."""

    _status_code: int
    _reason_phrase: str | None

    def __init__(self, request_header: dict[str, Any]) -> None:
        self._request_header = request_header
        self._response_header: dict[str, str] = {}
        self.report_status(200)  # the default answer: 200, no reason phrase

    def get_request_property(self, key: str) -> Any:
        return self._request_header.get(key)

    def report_status(self, code: int, reason_phrase: str | None = None) -> None:
        self._status_code = code
        self._reason_phrase = reason_phrase

    def get_response_status_code(self) -> int:
        return self._status_code

    def get_response_status_phrase(self) -> str | None:
        return self._reason_phrase

    def add_response_property(self, key: str, value: str) -> None:
        self._response_header[key] = value

    def get_response_headers(self) -> dict[str, str]:
        return self._response_header

    def get_response_header(self, key: str) -> str | None:
        return self._response_header.get(key)

    def get_request_properties(self) -> dict[str, Any]:
        return self._request_header
