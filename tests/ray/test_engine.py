"""``mar serve --engine ray`` on the two-node cluster: the management API changes the
deployments, Ray's autoscaler adds a replica under load and removes it when idle, and
``/metrics`` has TorchServe's names and Ray's own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.http_client import exchange
from tests.support.mar_serve import MarServe
from tests.support.ray_cluster import RayCluster

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _workers(server: MarServe, name: str) -> list[dict[str, Any]]:
    answer = server.management("GET", f"/models/{name}")
    assert answer.status == 200, answer.body
    workers: list[dict[str, Any]] = answer.json()[0]["workers"]
    return workers


def _ready(server: MarServe, name: str) -> int:
    return sum(1 for w in _workers(server, name) if w["status"] == "READY")


def _wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until *check* holds (fails after *timeout*)."""
    begun = time.monotonic()
    while not check():
        assert time.monotonic() - begun < timeout, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.5)
    return time.monotonic() - begun


def _pid_of(server: MarServe, model: str, body: bytes = b"hi") -> int:
    answer = server.inference("POST", f"/predictions/{model}", body=body, timeout=60)
    assert answer.status == 200, answer.body
    pid: int = answer.json()["pid"]
    return pid


def test_register_scale_unregister_change_the_deployment(
    ray_serve: MarServe, ray_cluster: RayCluster
) -> None:
    answer = ray_serve.management("POST", "/models?url=echo&model_name=managed&initial_workers=1")
    assert (answer.status, answer.json()) == (
        200,
        {"status": 'Model "managed" Version: 1.0 registered with 1 initial workers'},
    )
    _wait_for(lambda: _ready(ray_serve, "managed") == 1, 30, "one replica")
    scaled = ray_serve.management("PUT", "/models/managed?min_worker=3&synchronous=true")
    assert scaled.json() == {"status": "Workers scaled to 3 for model: managed"}
    _wait_for(lambda: _ready(ray_serve, "managed") == 3, 30, "three replicas")
    pids = {_pid_of(ray_serve, "managed") for _ in range(30)}
    # Each replica runs its own worker process, inside one of the cluster's nodes.
    cluster_pids = ray_cluster.head.pids() | ray_cluster.second.pids()
    assert len(pids) >= 2 and pids <= cluster_pids
    down = ray_serve.management("PUT", "/models/managed?min_worker=1&synchronous=true")
    assert down.status == 200
    _wait_for(lambda: len(_workers(ray_serve, "managed")) == 1, 60, "back to one replica")
    gone = ray_serve.management("DELETE", "/models/managed")
    assert gone.json() == {"status": 'Model "managed" unregistered'}
    assert ray_serve.inference("POST", "/predictions/managed").status == 404
    # The deployment's replicas, and with them their workers, are gone.
    nodes = (ray_cluster.head, ray_cluster.second)
    _wait_for(lambda: not pids & set().union(*(n.pids() for n in nodes)), 60, "workers gone")


def test_autoscaler_adds_a_replica_under_load_and_removes_it_when_idle(
    ray_serve: MarServe,
) -> None:
    answer = ray_serve.management("POST", "/models?url=echo&model_name=auto&initial_workers=1")
    assert answer.status == 200, answer.body
    bounds = ray_serve.management("PUT", "/models/auto?min_worker=1&max_worker=2&synchronous=true")
    assert bounds.status == 200, bounds.body
    _wait_for(lambda: _ready(ray_serve, "auto") == 1, 30, "one replica")
    stop = threading.Event()
    statuses: list[int] = []

    def client() -> None:
        while not stop.is_set():
            reply = exchange(
                ray_serve.ports["inference"], "POST", "/predictions/auto", body=b"sleep:0.3"
            )
            statuses.append(reply.status)

    clients = [threading.Thread(target=client) for _ in range(4)]
    for thread in clients:
        thread.start()
    try:
        up = _wait_for(lambda: _ready(ray_serve, "auto") == 2, 90, "upscale")
    finally:
        stop.set()
        for thread in clients:
            thread.join(60)
    assert statuses and set(statuses) == {200}
    down = _wait_for(lambda: len(_workers(ray_serve, "auto")) == 1, 90, "downscale")
    described = ray_serve.management("GET", "/models/auto").json()[0]
    assert (described["minWorkers"], described["maxWorkers"]) == (1, 2)
    print(f"upscaled after {up:.1f} s of load, downscaled after {down:.1f} s idle")
    assert ray_serve.management("DELETE", "/models/auto").status == 200


def test_metrics_have_torchserve_and_ray_names(ray_serve: MarServe) -> None:
    answer = ray_serve.management("POST", "/models?url=echo&model_name=counted&initial_workers=1")
    assert answer.status == 200, answer.body
    for _ in range(3):
        _pid_of(ray_serve, "counted")
    text = exchange(ray_serve.ports["metrics"], "GET", "/metrics").body.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = families["ts_inference_requests"].samples
    assert any(s.labels["model_name"] == "counted" and s.value == 3 for s in requests)
    assert "ts_queue_latency_microseconds" in families
    assert any(name.startswith("ray_serve_") for name in families)
    only = exchange(
        ray_serve.ports["metrics"],
        "GET",
        "/metrics?name[]=ts_inference_requests_total&name[]=ray_serve_deployment_request_counter_total",
    ).body.decode()
    names = {f.name for f in text_string_to_metric_families(only)}
    assert names == {"ts_inference_requests", "ray_serve_deployment_request_counter"}
    assert ray_serve.management("DELETE", "/models/counted").status == 200
