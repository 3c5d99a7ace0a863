"""A minimal HTTP client for TorchServe's REST APIs (standard library only).

One connection per request, so that concurrent requests reach TorchServe as separate
connections (which is what lets its batch aggregator group them).
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HttpResponse:
    """Status, headers (names lower-cased) and the exact body bytes of one response."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` header, or None when TorchServe sent none."""
        return self.headers.get("content-type")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


#: Multipart boundary for form uploads (the bodies the suite sends never contain it).
BOUNDARY = "mar-compat-boundary-5f0c2a"


@dataclass(frozen=True)
class InferenceRequest:
    """One request to a model: a body, its content type, extra headers, and whether it goes
    to ``/explanations`` instead of ``/predictions``.

    With *form_field*, the body is uploaded as that field of a ``multipart/form-data`` form
    (like ``curl -F field=@file``), *content_type* being the part's type.
    """

    body: bytes
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    explain: bool = False
    form_field: str | None = None

    def path(self, model: str) -> str:
        """The REST path TorchServe serves this request on."""
        route = "explanations" if self.explain else "predictions"
        return f"/{route}/{urllib.parse.quote(model)}"

    def http_body_and_headers(self) -> tuple[bytes, dict[str, str]]:
        """The HTTP body and headers to send (a one-part form when *form_field* is set)."""
        headers = dict(self.headers)
        if self.form_field is None:
            if self.content_type is not None:
                headers["Content-Type"] = self.content_type
            return self.body, headers
        part = [
            f"--{BOUNDARY}",
            f'Content-Disposition: form-data; name="{self.form_field}"; filename="upload.bin"',
        ]
        if self.content_type is not None:
            part.append(f"Content-Type: {self.content_type}")
        head = ("\r\n".join(part) + "\r\n\r\n").encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}"
        return head + self.body + f"\r\n--{BOUNDARY}--\r\n".encode(), headers


def exchange(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> HttpResponse:
    """Send one request to 127.0.0.1:*port* and read the whole response.

    Raises ``OSError`` (connection refused, timeout) when no response arrives.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        payload = response.read()
        names = {name.lower(): value for name, value in response.getheaders()}
        return HttpResponse(response.status, names, payload)
    finally:
        connection.close()


def send_together(
    port: int, model: str, requests: Sequence[InferenceRequest], *, timeout: float = 120.0
) -> list[HttpResponse]:
    """POST every request to *model* at once (one thread each); responses in request order.

    A barrier releases all threads together so that the requests arrive within
    milliseconds of each other. Raises the first ``OSError`` any request met.
    """
    results: list[HttpResponse | BaseException | None] = [None] * len(requests)
    barrier = threading.Barrier(len(requests))

    def send(index: int, request: InferenceRequest) -> None:
        body, headers = request.http_body_and_headers()
        try:
            barrier.wait(timeout=timeout)
            results[index] = exchange(
                port, "POST", request.path(model), body=body, headers=headers, timeout=timeout
            )
        except BaseException as exc:  # handed to the caller below, never swallowed
            results[index] = exc

    threads = [
        threading.Thread(target=send, args=(index, request), daemon=True)
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    responses: list[HttpResponse] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        assert result is not None
        responses.append(result)
    return responses
