"""Fixtures of the ``mar serve`` tests: a model store with torch-free models, and servers
started on free loopback ports that are always stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.models import write_model
from tests.support.mar_serve import MarServe

StartServer = Callable[..., MarServe]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A model store holding the ``echo`` model (directory format)."""
    path = tmp_path / "store"
    path.mkdir()
    write_model(path, "echo")
    return path


@pytest.fixture
def start_server(tmp_path: Path, store: Path) -> Iterator[StartServer]:
    """Start ``mar serve`` on *store* (keyword arguments go to :meth:`MarServe.start`)."""
    servers: list[MarServe] = []

    def start(**kwargs: Any) -> MarServe:
        kwargs.setdefault("model_store", store)
        env = dict(kwargs.pop("env", {}) or {})
        import os

        environment = {**os.environ, "MAR_CACHE_DIR": str(tmp_path / "cache"), **env}
        server = MarServe.start(tmp_path / f"home-{len(servers)}", env=environment, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
