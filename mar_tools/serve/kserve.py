"""KServe's HTTP port (8080 in the pod): what KServe's TorchServe runtime answered there.

That runtime ran TorchServe (``service_envelope`` ``kserve`` or ``kservev2``) behind KServe's
Python model server, which answered KServe's protocol on 8080 and relayed predictions to
TorchServe. ``mar serve --kserve`` answers the same on its KServe address, from one process:

* v1: ``GET /`` (``{"status": "alive"}``), ``GET /v1/models`` (``{"models": [...]}``),
  ``GET /v1/models/{m}`` (``{"name", "ready"}``), ``POST /v1/models/{m}:predict|:explain``;
* v2: ``GET /v2`` (server metadata), ``/v2/health/live``, ``/v2/health/ready`` (503 until
  every model has a ready worker), ``GET /v2/models/{m}`` (model metadata),
  ``GET /v2/models/{m}/ready``, ``POST /v2/models/{m}/infer|explain``.

Predictions go through the inference API (the worker applies the envelope, exactly as
TorchServe's backend does); a JSON answer is sent re-encoded compactly, as KServe's model
server re-encodes what TorchServe answered, and an error as KServe's ``{"error": message}``
with TorchServe's status. Any other path is the inference API's (``/ping``,
``/predictions/...``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from mar_tools.serve.errors import ApiError
from mar_tools.serve.http import JSON, raw_response
from mar_tools.serve.inference_api import InferenceApi
from mar_tools.serve.registry import Registry


class KServeApi:
    """The request handler of the KServe listener (see the module docstring)."""

    def __init__(
        self, registry: Registry, inference: InferenceApi, cors: dict[str, str], version: str
    ) -> None:
        self._registry = registry
        self._inference = inference
        self._cors = cors
        self._version = version

    def _json(self, value: Any, status: int, request_id: str) -> web.Response:
        body = json.dumps(value, separators=(",", ":")).encode()
        return raw_response(body, status, JSON, request_id, self._cors)

    def _error(self, status: int, message: str, request_id: str) -> web.Response:
        return self._json({"error": message}, status, request_id)

    async def handle(
        self, request: web.BaseRequest, parts: list[str], request_id: str
    ) -> web.StreamResponse:
        """Answer one request on KServe's port."""
        route = parts[1:]
        if request.method == "GET":
            answer = self._metadata(route)
            if answer is not None:
                value, status = answer
                return self._json(value, status, request_id)
        predicting = (len(route) == 3 and route[:2] == ["v1", "models"] and ":" in route[2]) or (
            len(route) == 4 and route[:2] == ["v2", "models"] and route[3] in ("infer", "explain")
        )
        try:
            response = await self._inference.handle(request, parts, request_id)
        except ApiError as exc:
            if not predicting:
                raise
            return self._error(exc.status, exc.message, request_id)
        if not predicting or not isinstance(response, web.Response):
            return response
        return self._relayed(response, request_id)

    def _metadata(self, route: list[str]) -> tuple[Any, int] | None:
        """KServe's own GET routes: (JSON value, status), or None for another path."""
        registry = self._registry
        if not route:
            return {"status": "alive"}, 200
        if route == ["v1", "models"]:
            return {"models": sorted(registry.models)}, 200
        if route == ["v2"]:
            return {"name": "mar-tools", "version": self._version, "extensions": []}, 200
        if route == ["v2", "health", "live"]:
            return {"live": True}, 200
        if route == ["v2", "health", "ready"]:
            ready = all(self._ready(name) for name in registry.models)
            return ({"ready": True}, 200) if ready else ({"error": "Models are not ready"}, 503)
        named = (len(route) == 3 and route[:2] == ["v1", "models"] and ":" not in route[2]) or (
            len(route) in (3, 4) and route[:2] == ["v2", "models"] and route[3:] in ([], ["ready"])
        )
        if not named:
            return None
        name = route[2]
        if name not in registry.models:
            return {"error": f"Model with name {name} does not exist."}, 404
        if route[0] == "v2" and len(route) == 3:
            versions = sorted(registry.models[name])
            return {
                "name": name,
                "versions": versions,
                "platform": "",
                "inputs": [],
                "outputs": [],
            }, 200
        return {"name": name, "ready": self._ready(name)}, 200

    def _ready(self, name: str) -> bool:
        return self._registry.get(name, None).pool.ready_count > 0

    def _relayed(self, response: web.Response, request_id: str) -> web.Response:
        body = response.body if isinstance(response.body, bytes) else b""
        try:
            value = json.loads(body)
        except ValueError:
            value = None
        if response.status >= 400:
            message = value.get("message") if isinstance(value, dict) else None
            text = message if isinstance(message, str) else body.decode("utf-8", "replace")
            return self._error(response.status, text, request_id)
        if value is None:
            return response
        return self._json(value, response.status, request_id)


__all__ = ["KServeApi"]
