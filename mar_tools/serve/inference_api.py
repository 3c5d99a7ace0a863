"""The inference API (TorchServe's port 8080), routed as its frontend routes it.

``OPTIONS /`` and ``/api-description`` answer without a token; everything else needs the
inference key when token authorization is on. Routes: ``/ping``; ``/predictions/{model}
[/{version}[/{extra path}]]`` and ``/explanations/...`` (any method; the extra path goes to
the handler as header ``url_path``); KServe v1 ``/v1/models/{model}:predict|:explain``;
KServe v2 ``/v2/models/{model}/infer|explain``; SageMaker's ``/invocations?model_name=`` and
``/models/{model}/invoke``; the legacy ``/{model}/predict``; and, with
``ts_open_inference_protocol``, ``/v2``, ``/v2/health/live`` and ``/v2/health/ready``.
Anything else is 404 ``ResourceNotFoundException``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from aiohttp import web

from mar_tools.run.headers import java_hashmap_order
from mar_tools.serve.errors import ApiError, bad_request, invalid_key, method_not_allowed, not_found
from mar_tools.serve.forms import FormError, body_parameters
from mar_tools.serve.http import (
    FrontendStream,
    TooLarge,
    frontend_headers,
    json_response,
    raw_response,
    read_body,
)
from mar_tools.serve.jobs import Reply, Stream
from mar_tools.serve.openapi import api_description
from mar_tools.serve.registry import Registry
from mar_tools.serve.tokens import TokenStore
from mar_tools.worker.messages import Parameter, Request

#: Called when a prediction is accepted: (model name, version label "default" or version).
RequestHook = Callable[[str, str], None]


class InferenceApi:
    """The request handler of the inference listener."""

    def __init__(
        self,
        registry: Registry,
        tokens: TokenStore | None,
        *,
        max_request_size: int,
        cors: dict[str, str],
        open_inference: bool,
        version: str,
        on_request: RequestHook,
    ) -> None:
        self._registry = registry
        self._tokens = tokens
        self._limit = max_request_size
        self._cors = cors
        self._oip = open_inference
        self._version = version
        self._on_request = on_request

    async def handle(
        self, request: web.BaseRequest, parts: list[str], request_id: str
    ) -> web.StreamResponse:
        """Answer one request (raises :class:`ApiError` / :class:`TooLarge` for errors)."""
        n = len(parts)
        if n == 0 or (n == 2 and parts[1] == "api-description"):
            if n == 2 or request.method == "OPTIONS":
                return json_response(api_description(self._version), 200, request_id, self._cors)
            raise method_not_allowed()
        if self._tokens is not None and not self._tokens.allows(
            "inference", request.headers.get("Authorization")
        ):
            raise invalid_key()
        head = parts[1]
        if head == "ping":
            healthy = self._registry.healthy()
            status = 200 if healthy else 500
            word = "Healthy" if healthy else "Unhealthy"
            return json_response({"status": word}, status, request_id, self._cors)
        if head in ("predictions", "explanations"):
            if n < 3:
                raise not_found()
            version = parts[3] if n >= 4 else None
            extra = [("url_path", "")]
            if n > 4:
                extra.append(("url_path", "/".join(parts[4:])))
            return await self._predict(
                request, request_id, parts[2], version, extra, head == "explanations"
            )
        if (
            n == 4
            and head == "v1"
            and parts[2] == "models"
            and (":predict" in parts[3] or ":explain" in parts[3])
        ):
            name = parts[3].split(":")[0]
            return await self._predict(
                request, request_id, name, None, [], ":predict" not in parts[3]
            )
        if n == 5 and head == "v2" and parts[2] == "models" and parts[4] in ("infer", "explain"):
            name = parts[3].split(":")[0]
            return await self._predict(request, request_id, name, None, [], parts[4] == "explain")
        if head == "invocations" or (n == 4 and head == "models"):
            if not (n == 2 and head == "invocations") and not (n == 4 and parts[3] == "invoke"):
                raise not_found()
            return await self._invocation(request, request_id, parts)
        if (n == 3 and parts[2] == "predict") or (n == 4 and parts[3] == "predict"):
            version = parts[2] if n == 4 else None
            return await self._predict(
                request, request_id, parts[1], version, [], False, query=True
            )
        if self._oip:
            answer = self._open_inference("/".join(parts).strip())
            if answer is not None:
                return json_response(answer, 200, request_id, self._cors)
        raise not_found()

    def _open_inference(self, path: str) -> dict[str, Any] | None:
        if path == "/v2/health/ready":
            return {"ready": True}
        if path == "/v2/health/live":
            return {"live": True}
        if path == "/v2":
            return {
                "name": "Torchserve",
                "version": self._version,
                "extenstion": ["kserve", "kubeflow"],
            }
        return None

    async def _invocation(
        self, request: web.BaseRequest, request_id: str, parts: list[str]
    ) -> web.StreamResponse:
        if parts[1] == "invocations":
            name = request.query.get("model_name") or None
            if name is None and len(self._registry.startup_names()) == 1:
                name = self._registry.startup_names()[0]
        else:
            name = parts[2]
        return await self._predict(request, request_id, name, None, [], False, query=True)

    async def _predict(
        self,
        request: web.BaseRequest,
        request_id: str,
        name: str | None,
        version: str | None,
        extra_headers: list[tuple[str, str]],
        explain: bool,
        *,
        query: bool = False,
    ) -> web.StreamResponse:
        body = await read_body(request, self._limit)
        pairs = [
            (k.decode("latin-1"), v.decode("utf-8", "replace")) for k, v in request.raw_headers
        ]
        pairs += extra_headers
        pairs.append(("explain", "False"))
        if explain:
            pairs.append(("explain", "True"))
        try:
            params = body_parameters(request.headers.get("Content-Type"), body)
        except FormError as exc:
            raise bad_request(f"Invalid multipart body: {exc}.") from None
        if query:
            queried = [
                Parameter(key, "", value.encode("utf-8"))
                for key, value in urllib.parse.parse_qsl(
                    request.query_string, keep_blank_values=True
                )
            ]
            params = (*queried, *params)
        if name is None:
            name = _string_parameter(params, "model_name")
            if name is None:
                raise bad_request("Parameter model_name is required.")
        model = self._registry.get(name, version)
        if request.method == "OPTIONS":
            return json_response(_model_api(model.name), 200, request_id, self._cors)
        self._on_request(name, version if version is not None else "default")
        worker_request = Request(request_id, tuple(java_hashmap_order(pairs)), params)
        future = self._registry.submit(name, version, worker_request)
        try:
            reply = await future
        finally:
            future.cancel()
        return await self._send(request, reply, request_id)

    async def _send(
        self, request: web.BaseRequest, reply: Reply | Stream, request_id: str
    ) -> web.StreamResponse:
        first = reply.first if isinstance(reply, Stream) else reply.parts[0]
        if isinstance(reply, Reply) and not reply.streamed:
            return raw_response(
                first.body,
                first.status,
                first.content_type,
                request_id,
                self._cors,
                reason=first.phrase,
                extra=first.headers,
            )
        response = FrontendStream(status=first.status, reason=first.phrase or None)
        response.headers.update(frontend_headers(request_id, self._cors, first.status))
        response.headers.update(first.headers)
        if first.content_type:
            response.headers["Content-Type"] = first.content_type
        response.no_content_type = not first.content_type
        response.enable_chunked_encoding()
        await response.prepare(request)
        if isinstance(reply, Reply):
            for part in reply.parts:
                await response.write(part.body)
        else:
            await response.write(first.body)
            while (later := await reply.rest.get()) is not None:
                await response.write(later.body)
        await response.write_eof()
        return response


def _string_parameter(params: tuple[Parameter, ...], name: str) -> str | None:
    for parameter in params:
        if parameter.name == name:
            return parameter.value.decode("utf-8", "replace")
    return None


def _model_api(name: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.1",
        "info": {"title": f"RESTful API for: {name}", "version": "1.0.0"},
        "paths": {f"/predictions/{name}": {"post": {"operationId": name}}},
    }


__all__ = ["ApiError", "InferenceApi", "TooLarge"]
