"""The three HTTP listeners (inference, management, metrics) on aiohttp's low-level server.

Each request is answered by its API's handler; an :class:`ApiError` becomes TorchServe's
JSON error, an oversize body Netty's bare 413, anything unexpected a 500 (logged). Every
final status feeds the Requests2XX/4XX/5XX metrics. Limits: headers as aiohttp bounds them
(8 KiB per line: a longer one is a 400), the body by ``max_request_size``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from mar_tools.serve.errors import ApiError, not_found
from mar_tools.serve.http import (
    TooLarge,
    error_response,
    new_request_id,
    raw_response,
    segments,
    too_large,
)
from mar_tools.serve.inference_api import InferenceApi
from mar_tools.serve.management_api import ManagementApi
from mar_tools.serve.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from mar_tools.serve.server import Server

Handler = Callable[[web.BaseRequest, list[str], str], Awaitable[web.StreamResponse]]


async def open_listeners(server: Server) -> tuple[list[web.BaseRunner], dict[str, int]]:
    """Start the listeners the configuration asks for; returns runners and bound ports."""
    config = server.options.config
    registry = server.registry
    cors = dict(config.cors)
    version = _version()
    inference = InferenceApi(
        registry,
        server.tokens,
        max_request_size=config.max_request_size,
        cors=cors,
        open_inference=config.open_inference_protocol,
        version=version,
        on_request=lambda name, label: server.metrics.count(
            "ts_inference_requests_total", (name, label, server.metrics.hostname)
        ),
    )
    management = ManagementApi(
        registry,
        server.tokens,
        model_api=config.enable_model_api,
        max_request_size=config.max_request_size,
        cors=cors,
        version=version,
    )

    async def metrics(request: web.BaseRequest, parts: list[str], request_id: str) -> web.Response:
        if len(parts) >= 2 and parts[1] == "metrics":
            names = request.query.getall("name[]", [])
            body = server.metrics.exposition(names)
            body += await server.registry.engine.metrics_text(names)
            return raw_response(body, 200, CONTENT_TYPE, request_id, cors)
        raise not_found()

    where = config.inference_address, config.management_address
    plan: list[tuple[str, Handler, str, int]] = [
        ("inference", inference.handle, where[0].host, where[0].port),
        ("management", management.handle, where[1].host, where[1].port),
    ]
    if config.enable_metrics_api:
        address = config.metrics_address
        plan.append(("metrics", metrics, address.host, address.port))
    kserve = server.options.kserve_address
    if kserve is not None:
        from mar_tools.serve.kserve import KServeApi

        api = KServeApi(registry, inference, cors, version)
        plan.insert(0, ("KServe", api.handle, kserve.host, kserve.port))
    runners: list[web.BaseRunner] = []
    ports: dict[str, int] = {}
    try:
        for names, handler, host, port in _shared(plan):
            low = web.Server(_dispatcher(handler, server), access_log=None)
            runner: web.BaseRunner = web.ServerRunner(
                low, handle_signals=False, shutdown_timeout=server.options.drain_seconds
            )
            await runner.setup()
            runners.append(runner)
            site = web.TCPSite(runner, host, port, reuse_address=True)
            await site.start()
            sockets = list(runner.addresses or [])
            for name in names:
                ports[name] = int(sockets[0][1]) if sockets else port
    except BaseException:
        for runner in runners:
            await runner.cleanup()
        raise
    return runners, ports


def _shared(
    plan: list[tuple[str, Handler, str, int]],
) -> list[tuple[list[str], Handler, str, int]]:
    """One listener per address: APIs configured on the same address (KServe's TorchServe
    layout puts inference and management on one port) share it, each answering the paths
    the ones before it do not know (as TorchServe chains its handlers)."""
    groups: dict[tuple[str, int, str], list[tuple[str, Handler]]] = {}
    for name, handler, host, port in plan:
        # Port 0 asks for a free port: each such API gets its own.
        key = (host, port, name if port == 0 else "")
        groups.setdefault(key, []).append((name, handler))
    return [
        ([name for name, _ in members], _chain([h for _, h in members]), host, port)
        for (host, port, _), members in groups.items()
    ]


def _chain(handlers: list[Handler]) -> Handler:
    if len(handlers) == 1:
        return handlers[0]

    async def chained(
        request: web.BaseRequest, parts: list[str], request_id: str
    ) -> web.StreamResponse:
        for handler in handlers[:-1]:
            try:
                return await handler(request, parts, request_id)
            except ApiError as exc:
                if exc.error_type != "ResourceNotFoundException":
                    raise
        return await handlers[-1](request, parts, request_id)

    return chained


def _dispatcher(
    handler: Handler, server: Server
) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    cors = dict(server.options.config.cors)
    metrics = server.metrics

    async def dispatch(request: web.BaseRequest) -> web.StreamResponse:
        request_id = new_request_id()
        try:
            response = await handler(
                request, segments(request.raw_path.split("?", 1)[0]), request_id
            )
        except ApiError as exc:
            response = error_response(exc, request_id, cors)
        except TooLarge:
            response = too_large(request_id)
        except Exception as exc:
            server.log.warning(f"internal error answering {request.method} {request.path}: {exc!r}")
            failure = ApiError(500, "InternalServerException", str(exc) or type(exc).__name__)
            response = error_response(failure, request_id, cors)
        metrics.status(response.status)
        return response

    return dispatch


def _version() -> str:
    from mar_tools._version import __version__

    return __version__
