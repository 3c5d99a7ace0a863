"""Scaling out with ``mar serve --engine ray``: throughput of a CPU-bound model with two Ray
Serve replicas against one, on this machine's 2 cores, in one run.

One server (a private local Ray instance, each replica reserving half a logical CPU so both
registrations fit), one torch-free model whose handler burns a fixed amount of pure-Python
CPU per request (about 150 ms here), registered twice: ``cpu1`` with one replica, ``cpu2``
with two. Closed-loop keep-alive load at concurrency 8 (``wrk`` when installed, see
:mod:`benchmarks.loadgen`), runs alternating between the two registrations so that load from
other processes falls on both alike. Reported as time per request (``1 / requests per
second``): the target, two replicas at least 1.6x one's throughput, is a ratio <= 0.625
(the limit on 2 cores is 0.5).

Skipped (no rows) when Ray is not installed: ``mar-tools[ray]`` is optional.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Comparison, Measurement
from benchmarks.loadgen import LoadResult, generator_name, run_load
from tests.serve.models import write_model
from tests.support.http_client import exchange
from tests.support.mar_serve import MarServe

CONCURRENCY = 8
#: Iterations of the handler's loop per request (~150 ms of one core here): large next to the
#: per-request cost of the server and of Ray (a few ms), as a real model's compute is.
WORK = 1_500_000
CPU_HANDLER = f"""
import json

def handle(data, context):
    if data is None:
        return None
    out = []
    for row in data:
        total = 0
        for i in range({WORK}):
            total += i * i % 7
        out.append(json.dumps({{"total": total}}))
    return out
"""
PROPERTIES = {
    "disable_token_authorization": "true",
    "ray_cpus_per_worker": "0.5",
    "ray_deployment_options": json.dumps({"max_ongoing_requests": 4}),
}


def run(scale: float, repeats: int) -> list[Comparison]:
    """Two replicas against one; *scale* shortens each load run (10 s at scale 1)."""
    if importlib.util.find_spec("ray") is None:
        print("[benchmarks] ray_scale: Ray is not installed; skipped.", file=sys.stderr)
        return []
    seconds = max(1.0, 10.0 * scale)
    with tempfile.TemporaryDirectory(prefix="mar-bench-ray-") as tmp:
        root = Path(tmp)
        store = root / "store"
        store.mkdir()
        write_model(store, "cpu", CPU_HANDLER)
        env = {
            **os.environ,
            "MAR_CACHE_DIR": str(root / "cache"),
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_AUTH_MODE": "disabled",
        }
        env.pop("RAY_ADDRESS", None)
        with MarServe.start(
            root / "serve",
            model_store=store,
            properties=PROPERTIES,
            args=["--engine", "ray"],
            env=env,
            timeout=300,
        ) as server:
            for name, replicas in (("cpu1", 1), ("cpu2", 2)):
                answer = server.register(
                    "cpu", model_name=name, initial_workers=replicas, timeout=300
                )
                if answer.status != 200:
                    raise RuntimeError(f"registering {name}: {answer.body!r}")
            runs = _load(server.ports["inference"], seconds, repeats)
    return [_comparison(runs)]


def _load(port: int, seconds: float, repeats: int) -> dict[str, list[LoadResult]]:
    runs: dict[str, list[LoadResult]] = {"cpu1": [], "cpu2": []}
    for name in runs:  # warm-up, untimed: every replica answers once
        for _ in range(4):
            _first(port, name)
        run_load(port, f"/predictions/{name}", b"x", "text/plain", CONCURRENCY, 1.0)
    for _ in range(repeats):
        for name, results in runs.items():
            results.append(
                run_load(port, f"/predictions/{name}", b"x", "text/plain", CONCURRENCY, seconds)
            )
    return runs


def _first(port: int, name: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if exchange(port, "POST", f"/predictions/{name}", body=b"x", timeout=60).status == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name}: no successful prediction")


def _comparison(runs: dict[str, list[LoadResult]]) -> Comparison:
    def one(label: str, results: list[LoadResult]) -> Measurement:
        notes = {
            "req/s": ", ".join(f"{r.requests_per_second:.1f}" for r in results),
            "p50": ", ".join(f"{r.p50 * 1000:.0f} ms" for r in results),
            "load": results[0].generator,
        }
        return Measurement(
            label,
            f"{generator_name()} -c{CONCURRENCY} POST /predictions/{label.split()[0]}",
            tuple(1.0 / r.requests_per_second for r in results),
            notes=notes,
        )

    baseline = one("cpu1 (1 replica)", runs["cpu1"])
    subject = one("cpu2 (2 replicas)", runs["cpu2"])
    ratio = statistics.median(subject.seconds) / statistics.median(baseline.seconds)
    return Comparison(
        "ray scale: time per request (1 / throughput), CPU-bound model, 2 Ray Serve replicas "
        "vs 1 on 2 cores",
        subject,
        baseline,
        target="≤ 0.625× (≥ 1.6× one replica's requests/s)",
        met=ratio <= 0.625,
    )
