"""The REST calls the tests make to a server with TorchServe's APIs (TorchServe itself, or
``mar serve``), written once for both: a subclass provides ``ports`` (``inference``,
``management``, ``metrics``) and may set ``headers`` (sent with management calls, e.g. a
token)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from tests.support.http_client import HttpResponse, InferenceRequest, exchange, send_together
from tests.support.process_group import ProcessGroup

S = TypeVar("S", bound="ServerApi")


class ServerApi:
    """A running server in its own process group: registration, management and prediction
    calls (see the module docstring); a context manager that stops it on exit."""

    #: Seconds between SIGTERM and SIGKILL when the server is stopped.
    STOP_GRACE = 3.0

    def __init__(
        self, group: ProcessGroup, home: Path, model_store: Path, ports: Mapping[str, int]
    ) -> None:
        self._group = group
        self.home = home
        self.model_store = model_store
        self.ports = dict(ports)
        self.headers: dict[str, str] = {}

    @property
    def pid(self) -> int:
        """PID of the server's launcher, leader of the process group."""
        return self._group.pid

    def stop(self) -> None:
        """Stop the server and everything it started (bounded; idempotent)."""
        self._group.stop(grace=self.STOP_GRACE)

    def __enter__(self: S) -> S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def register(
        self,
        url: str,
        *,
        model_name: str | None = None,
        batch_size: int = 1,
        max_batch_delay: int = 100,
        initial_workers: int = 1,
        synchronous: bool = True,
        timeout: float = 300.0,
    ) -> HttpResponse:
        """POST /models: register *url* (a name in the model store); returns the response."""
        query = {
            "url": url,
            "batch_size": str(batch_size),
            "max_batch_delay": str(max_batch_delay),
            "initial_workers": str(initial_workers),
            "synchronous": "true" if synchronous else "false",
        }
        if model_name is not None:
            query["model_name"] = model_name
        path = "/models?" + urllib.parse.urlencode(query)
        return self.management("POST", path, timeout=timeout)

    def unregister(self, name: str, timeout: float = 120.0) -> HttpResponse:
        """DELETE /models/{name}: stop its workers and forget it."""
        return self.management("DELETE", f"/models/{urllib.parse.quote(name)}", timeout=timeout)

    def management(self, method: str, path: str, *, timeout: float = 60.0) -> HttpResponse:
        """Any request to the management API."""
        try:
            return exchange(
                self.ports["management"], method, path, headers=self.headers, timeout=timeout
            )
        except OSError as exc:
            raise self.no_answer(exc, f"{method} {path}") from exc

    def no_answer(self, exc: OSError, request: str) -> OSError:
        """The error to raise when *request* got no HTTP answer (*exc*: timeout, connection
        refused or dropped); a subclass adds what helps find out why (its log)."""
        del request
        return exc

    def predict(
        self, model: str, request: InferenceRequest, *, timeout: float = 120.0
    ) -> HttpResponse:
        """POST /predictions/{model} (or /explanations/{model} when ``request.explain``)."""
        return self.predict_together(model, [request], timeout=timeout)[0]

    def predict_together(
        self, model: str, requests: list[InferenceRequest], *, timeout: float = 120.0
    ) -> list[HttpResponse]:
        """Send *requests* at the same moment (so that TorchServe can batch them)."""
        try:
            return send_together(self.ports["inference"], model, requests, timeout=timeout)
        except OSError as exc:
            raise self.no_answer(exc, f"{len(requests)} request(s) to {model}") from exc
