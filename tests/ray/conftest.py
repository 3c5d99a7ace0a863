"""Fixtures of the ``--engine ray`` tests: one real two-node Ray cluster on this machine for
the whole package (always stopped, even when a test fails), a model store, and one
``mar serve --engine ray`` joined to the cluster.

The tests need ``mar-tools[ray]`` (``dev/bootstrap`` installs it); without Ray they fail
rather than skip, so that CI cannot pass without running them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve.models import write_model
from tests.support.mar_serve import MarServe
from tests.support.ray_cluster import RayCluster

#: Autoscaling reacts within seconds in the tests (Ray's defaults are 30 s up, 600 s down).
AUTOSCALING = {
    "upscale_delay_s": 0.0,
    "downscale_delay_s": 2.0,
    "look_back_period_s": 1.0,
    "target_ongoing_requests": 1,
}


@pytest.fixture(scope="package")
def ray_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ray")


@pytest.fixture(scope="package")
def ray_env(ray_root: Path) -> dict[str, str]:
    """The environment of the cluster's nodes and of the server: one extraction cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAR_DEBUG", "RAY_ADDRESS")}
    env.update({"MAR_CACHE_DIR": str(ray_root / "cache"), "NO_COLOR": "1"})
    return env


@pytest.fixture(scope="package")
def ray_cluster(ray_root: Path, ray_env: dict[str, str]) -> Iterator[RayCluster]:
    """A head and a second node, 4 logical CPUs each."""
    cluster = RayCluster.start(ray_root / "cluster", ray_env)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="package")
def ray_store(ray_root: Path) -> Path:
    """The model store: the ``echo`` model of the server tests (torch-free)."""
    store = ray_root / "store"
    store.mkdir()
    write_model(store, "echo")
    return store


@pytest.fixture(scope="package")
def ray_serve(
    ray_root: Path, ray_env: dict[str, str], ray_cluster: RayCluster, ray_store: Path
) -> Iterator[MarServe]:
    """``mar serve --engine ray --ray-address <head>`` on the store; half a CPU per replica."""
    properties = {
        "ray_cpus_per_worker": "0.5",
        "ray_autoscaling": json.dumps(AUTOSCALING),
        "default_workers_per_model": "2",
    }
    with MarServe.start(
        ray_root / "serve",
        model_store=ray_store,
        properties=properties,
        args=["--engine", "ray", "--ray-address", ray_cluster.address],
        env={**ray_env, **ray_cluster.env},
        timeout=180,
    ) as server:
        yield server
