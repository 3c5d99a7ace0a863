"""What every HTTP answer of the three APIs shares, as TorchServe's Netty frontend sends it.

Every response carries ``x-request-id``, ``Pragma: no-cache``, TorchServe's ``Cache-Control``
and ``Expires`` headers, and the CORS headers ``cors_allowed_*`` configure; a response with
a status of 400 or more closes the connection. JSON answers are Gson-formatted plus a
newline. Paths are split the way ``String.split("/")`` splits them (trailing empty segments
dropped), after percent-decoding.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import hdrs, web

from mar_tools.core.gson import gson_pretty
from mar_tools.serve.errors import ApiError

JSON = "application/json"
_NO_CACHE = {
    "Pragma": "no-cache",
    "Cache-Control": "no-cache; no-store, must-revalidate, private",
    "Expires": "Thu, 01 Jan 1970 00:00:00 UTC",
}
#: Called with every final status, for the Requests2XX/4XX/5XX metrics.
StatusHook = Callable[[int], None]


class FrontendResponse(web.Response):
    """A response with only the headers TorchServe's frontend sends.

    aiohttp adds ``Date``, ``Server`` and, for a body without a type, ``Content-Type:
    application/octet-stream`` while preparing the headers; TorchServe sends none of them
    (a handler that sets no content type gets none), so they are taken out again here.
    """

    no_content_type = False

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        _strip(self, self.no_content_type)


class FrontendStream(web.StreamResponse):
    """A chunked (streamed) response with the same header rules as :class:`FrontendResponse`."""

    no_content_type = False

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        _strip(self, self.no_content_type)


def _strip(response: web.StreamResponse, no_content_type: bool) -> None:
    headers = response._headers  # the headers about to be written
    headers.pop(hdrs.DATE, None)
    headers.pop(hdrs.SERVER, None)
    if no_content_type:
        headers.pop(hdrs.CONTENT_TYPE, None)


class TooLarge(Exception):
    """The request body exceeds ``max_request_size``."""


def segments(raw_path: str) -> list[str]:
    """The path's segments as the frontend sees them (``"/a/b/"`` -> ``["", "a", "b"]``)."""
    parts = urllib.parse.unquote(raw_path).split("/")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def frontend_headers(request_id: str, cors: Mapping[str, str], status: int) -> dict[str, str]:
    """The headers the frontend adds to a response of *status*."""
    headers = {"x-request-id": request_id, **_NO_CACHE}
    for name, value in cors.items():
        headers[f"Access-Control-Allow-{name.capitalize()}"] = value
    headers["Connection"] = "close" if status >= 400 else "keep-alive"
    return headers


def new_request_id() -> str:
    """A random (version 4) UUID as text, as ``str(uuid.uuid4())`` writes it (without the
    ``UUID`` object: the server makes one per request)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def json_response(
    value: Any, status: int, request_id: str, cors: Mapping[str, str], reason: str | None = None
) -> web.Response:
    """A Gson-formatted JSON answer."""
    return raw_response(gson_pretty(value), status, JSON, request_id, cors, reason=reason)


def error_response(error: ApiError, request_id: str, cors: Mapping[str, str]) -> web.Response:
    """The frontend's ``{"code", "type", "message"}`` answer for *error*."""
    return raw_response(error.body(), error.status, JSON, request_id, cors)


def raw_response(
    body: bytes,
    status: int,
    content_type: str | None,
    request_id: str,
    cors: Mapping[str, str],
    *,
    reason: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> web.Response:
    """An answer with exactly *body*; no ``Content-Type`` header when *content_type* is None."""
    headers = frontend_headers(request_id, cors, status)
    if content_type:
        headers["Content-Type"] = content_type
    if extra:
        headers.update(extra)
    response = FrontendResponse(body=body, status=status, reason=reason or None, headers=headers)
    response.no_content_type = not content_type
    if status >= 400:
        response.force_close()
    return response


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    """The whole request body; :class:`TooLarge` past *limit* bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise TooLarge()
    content = request.content
    chunks = []
    size = 0
    while True:
        chunk = await content.readany()
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
        if content.is_eof():  # all of it is in: no second wait for the end
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def too_large(request_id: str) -> web.Response:
    """Netty's answer to an oversize body: 413, no body, connection closed."""
    response = FrontendResponse(status=413, body=b"", headers={"Connection": "close"})
    response.no_content_type = True
    response.force_close()
    del request_id
    return response
