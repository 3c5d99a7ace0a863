"""Stopping the second node under load: only the requests in flight on it fail, each with a
503 (never a hang); every request sent after the node is gone succeeds, and Ray brings the
deployment back to two replicas on the node that is left.

Runs last in the package (it leaves the cluster with one node).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from tests.support.http_client import exchange
from tests.support.mar_serve import MarServe
from tests.support.ray_cluster import RayCluster

pytestmark = [pytest.mark.ray, pytest.mark.slow]
CLIENTS = 6
#: A request slower than this counts as a hang.
CLIENT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    status: int
    pid: int | None


def test_stopping_a_node_fails_only_its_requests_in_flight(
    ray_serve: MarServe, ray_cluster: RayCluster
) -> None:
    answer = ray_serve.management("POST", "/models?url=echo&model_name=ha&initial_workers=2")
    assert answer.status == 200, answer.body
    outcomes: list[Outcome] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                reply = exchange(
                    ray_serve.ports["inference"],
                    "POST",
                    "/predictions/ha",
                    body=b"sleep:0.2",
                    timeout=CLIENT_TIMEOUT,
                )
            except OSError as exc:  # a hang (timeout) or a dropped connection
                pytest.fail(f"request failed without an answer: {exc!r}")
            pid = reply.json()["pid"] if reply.status == 200 else None
            outcomes.append(Outcome(started, time.monotonic(), reply.status, pid))

    clients = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in clients:
        thread.start()
    try:
        deadline = time.monotonic() + 60
        second = ray_cluster.second.pids()
        while not any(o.pid in second for o in list(outcomes)):
            assert time.monotonic() < deadline, "no request was served on the second node"
            time.sleep(0.2)
        time.sleep(1.0)
        stopping = time.monotonic()
        ray_cluster.second.stop()
        stopped = time.monotonic()
        time.sleep(5.0)  # keep the load on after the node is gone
    finally:
        stop.set()
        for thread in clients:
            thread.join(CLIENT_TIMEOUT + 5)
    failed = [o for o in outcomes if o.status != 200]
    later = [o for o in outcomes if o.started > stopped]
    print(
        f"{len(outcomes)} requests, {len(failed)} failed, node stop took "
        f"{stopped - stopping:.1f} s, {len(later)} sent after it"
    )
    assert {o.status for o in failed} <= {503}
    # Only requests that were in flight while the node went away failed: at most one per
    # client, and none sent after the node was gone.
    assert len(failed) <= CLIENTS
    assert all(o.started < stopped for o in failed)
    assert later and all(o.status == 200 for o in later)
    # The cluster keeps serving: Ray replaces the lost replica on the head.
    deadline = time.monotonic() + 90
    while True:
        workers = ray_serve.management("GET", "/models/ha").json()[0]["workers"]
        if [w["status"] for w in workers] == ["READY", "READY"]:
            break
        assert time.monotonic() < deadline, workers
        time.sleep(0.5)
    reply = exchange(ray_serve.ports["inference"], "POST", "/predictions/ha", body=b"after")
    assert reply.status == 200
    assert ray_serve.management("DELETE", "/models/ha").status == 200
