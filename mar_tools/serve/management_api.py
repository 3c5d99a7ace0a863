"""The management API (TorchServe's port 8081), routed as its frontend routes it.

``GET /models`` lists (``limit`` <= 100, ``next_page_token``); ``POST /models`` registers
(query parameters, or a JSON body with the same names) and ``DELETE /models/{m}[/{v}]``
unregisters, both only with ``enable_model_api`` (else 405, as in 0.12); ``GET
/models/{m}[/{v}|/all]`` describes; ``PUT /models/{m}[/{v}]?min_worker=&max_worker=
&synchronous=`` scales (200 when ``synchronous=true``, else 202); ``PUT
/models/{m}/{v}/set-default``; ``GET /v1/models/{m}`` is KServe v1's readiness. With token
authorization every request needs the management key, and ``PUT /token?type=`` (with the
API key) renews a key.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from mar_tools.serve.describe import describe
from mar_tools.serve.errors import ApiError, invalid_key, method_not_allowed, not_found
from mar_tools.serve.http import json_response, read_body
from mar_tools.serve.model_settings import RegisterParams
from mar_tools.serve.openapi import api_description
from mar_tools.serve.registry import Registry
from mar_tools.serve.tokens import TokenStore


def _int(query: Any, key: str, default: int) -> int:
    """An integer query parameter; *default* when absent or not a number (as Netty's)."""
    value = _optional(query, key)
    return default if value is None else value


class ManagementApi:
    """The request handler of the management listener."""

    def __init__(
        self,
        registry: Registry,
        tokens: TokenStore | None,
        *,
        model_api: bool,
        max_request_size: int,
        cors: dict[str, str],
        version: str,
    ) -> None:
        self._registry = registry
        self._tokens = tokens
        self._model_api = model_api
        self._limit = max_request_size
        self._cors = cors
        self._version = version

    def _json(self, value: Any, status: int, request_id: str) -> web.Response:
        return json_response(value, status, request_id, self._cors)

    async def handle(
        self, request: web.BaseRequest, parts: list[str], request_id: str
    ) -> web.StreamResponse:
        """Answer one request (raises :class:`ApiError` for errors)."""
        n, method = len(parts), request.method
        if n == 0 or (n == 2 and parts[1] == "api-description"):
            if n == 2 or method == "OPTIONS":
                description = api_description(self._version, "management")
                return self._json(description, 200, request_id)
            raise method_not_allowed()
        if self._tokens is not None:
            if "/token" in request.path:
                return self._renew(request, request_id)
            if not self._tokens.allows("management", request.headers.get("Authorization")):
                raise invalid_key()
        is_models = (2 <= n <= 4 and parts[1] == "models") or (n == 5 and parts[4] == "set-default")
        if is_models:
            if parts[1] != "models":
                raise not_found()
            return await self._models(request, parts, request_id)
        if n == 4 and parts[1] == "v1" and parts[2] == "models":
            if method != "GET":
                raise method_not_allowed()
            name = parts[3].split(":")[0]
            entry = self._registry.get(name, None)
            ready = entry.pool.ready_count > 0
            return self._json({"name": name, "ready": ready}, 200, request_id)
        raise not_found()

    def _renew(self, request: web.BaseRequest, request_id: str) -> web.Response:
        assert self._tokens is not None
        if not self._tokens.allows("API", request.headers.get("Authorization")):
            raise ApiError(
                400,
                "InvalidKeyException",
                "Token Authentication failed. Token either incorrect, expired, or not "
                "provided correctly",
            )
        kind = request.query.get("type")
        if kind in ("management", "inference"):
            self._tokens.renew(kind)
            return self._json({"status": f"{kind} key renewed"}, 200, request_id)
        raise ApiError(400, "BadRequestException", "type must be management or inference")

    async def _models(
        self, request: web.BaseRequest, parts: list[str], request_id: str
    ) -> web.StreamResponse:
        method, n, query = request.method, len(parts), request.query
        if n < 3:
            if method == "GET":
                listing = self._registry.listing(
                    _int(query, "limit", 100), _int(query, "next_page_token", 0)
                )
                return self._json(listing, 200, request_id)
            if method == "POST" and self._model_api:
                status, message = await self._register(request)
                return self._json({"status": message}, status, request_id)
            raise method_not_allowed()
        name = parts[2]
        version = parts[3] if n == 4 else None
        if method == "GET":
            if query.get("customized", "false").lower() == "true" and version != "all":
                self._registry.get(name, version)
            return self._json(describe(self._registry, name, version), 200, request_id)
        if method == "PUT":
            if n == 5 and parts[4] == "set-default":
                message = self._registry.set_default(name, parts[3])
                return self._json({"status": message}, 200, request_id)
            minimum = _int(query, "min_worker", 1)
            maximum = _int(query, "max_worker", minimum)
            if version is None:
                version = query.get("model_version")
            synchronous = query.get("synchronous", "").lower() == "true"
            status, message = await self._registry.scale(
                name, version, minimum, maximum, synchronous
            )
            return self._json({"status": message}, status, request_id)
        if method == "DELETE" and self._model_api:
            message = await self._registry.unregister(name, version)
            return self._json({"status": message}, 200, request_id)
        if method == "OPTIONS":
            self._registry.get(name, version)
            return self._json(api_description(self._version, "management"), 200, request_id)
        raise method_not_allowed()

    async def _register(self, request: web.BaseRequest) -> tuple[int, str]:
        query: dict[str, Any] = dict(request.query)
        mime = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if mime == "application/json":
            body = await read_body(request, self._limit)
            try:
                document = json.loads(body or b"null")
            except ValueError:
                raise ApiError(400, "BadRequestException", "Invalid JSON body.") from None
            if not isinstance(document, dict):
                raise ApiError(400, "BadRequestException", "The JSON body must be an object.")
            query = {
                key: str(value).lower() if isinstance(value, bool) else str(value)
                for key, value in document.items()
            }
        params = RegisterParams(
            batch_size=_optional(query, "batch_size"),
            max_batch_delay=_optional(query, "max_batch_delay"),
            response_timeout=_optional(query, "response_timeout"),
            startup_timeout=_optional(query, "startup_timeout"),
            initial_workers=_optional(query, "initial_workers"),
        )
        return await self._registry.register(
            query.get("url"),
            name=query.get("model_name") or None,
            handler=query.get("handler") or None,
            runtime=query.get("runtime"),
            params=params,
            synchronous=query.get("synchronous", "true").lower() == "true",
        )


def _optional(query: Any, key: str) -> int | None:
    value = query.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
