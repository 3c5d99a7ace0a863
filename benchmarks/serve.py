"""Serving: ``mar serve`` against the real TorchServe 0.12 on the same archive and machine.

One tiny eager model (``Linear(16, 4)`` behind a ``BaseHandler`` subclass, archived by
upstream's archiver), the same ``config.properties`` for both servers (two workers, batch
size 1, token authorization off, each server's own defaults otherwise; TorchServe with its
default JVM options), the same request body:

* **throughput and latency** at concurrency 1 and 16: closed-loop keep-alive load (``wrk``
  when installed, see :mod:`benchmarks.loadgen`), runs alternating between the two servers
  so that load from other processes falls on both alike. Throughput is reported as time per
  request (``1 / requests per second``), so a ratio below 1 is faster, like every other row;
* **start-up**: from launching the server with ``--models tiny=tiny.mar`` to the first
  successful prediction (each run a fresh server, extraction cache empty);
* **server process RSS**: the peak resident set (VmHWM) of TorchServe's Java frontend and of
  the ``mar serve`` process after the load runs (workers not counted on either side).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import Comparison, Measurement
from benchmarks.loadgen import LoadResult, generator_name, run_load
from benchmarks.tiny_model import ARCHIVER_ARGS, INPUT, write_tiny_model
from tests.support.http_client import exchange
from tests.support.mar_serve import MarServe
from tests.support.process_group import descendants
from tests.support.torchserve import TorchServe
from tests.support.upstream import torchserve_venv, venv_bin

PROPERTIES = {"default_workers_per_model": "2", "disable_token_authorization": "true"}
CONCURRENCY = (1, 16)


def run(scale: float, repeats: int) -> list[Comparison]:
    """All serving comparisons; *scale* shortens each load run (10 s at scale 1)."""
    seconds = max(1.0, 10.0 * scale)
    venv = torchserve_venv()
    with tempfile.TemporaryDirectory(prefix="mar-bench-serve-") as tmp:
        root = Path(tmp)
        store = root / "store"
        store.mkdir()
        tiny = write_tiny_model(root / "tiny", Path(sys.executable))
        subprocess.run(
            [
                str(venv_bin(venv, "torch-model-archiver")),
                "--model-name",
                "tiny",
                *ARCHIVER_ARGS,
                "--export-path",
                str(store),
                "-f",
            ],
            cwd=tiny,
            check=True,
            capture_output=True,
        )
        body = (tiny / INPUT).read_bytes()
        startups = _startups(venv, root, store, body, repeats)
        comparisons = _load(venv, root, store, body, seconds, repeats)
    return [*startups, *comparisons]


def _first_prediction(port: int, body: bytes, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = exchange(
                port,
                "POST",
                "/predictions/tiny",
                body=body,
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
            if answer.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("no successful prediction")


def _start_torchserve(venv: Path, home: Path, store: Path) -> TorchServe:
    return TorchServe.start(
        venv, home, model_store=store, properties=PROPERTIES, args=("--models", "tiny=tiny.mar")
    )


def _start_ours(home: Path, store: Path) -> MarServe:
    env = {**os.environ, "MAR_CACHE_DIR": str(home / "cache")}
    return MarServe.start(
        home, model_store=store, properties=PROPERTIES, args=["--models", "tiny=tiny.mar"],
        env=env, ready=False,
    )  # fmt: skip


def _startups(venv: Path, root: Path, store: Path, body: bytes, repeats: int) -> list[Comparison]:
    times: dict[str, list[float]] = {"ts": [], "ours": []}
    for attempt in range(repeats):
        started = time.perf_counter()
        with _start_torchserve(venv, root / f"ts-start-{attempt}", store) as server:
            _first_prediction(server.ports["inference"], body)
            times["ts"].append(time.perf_counter() - started)
        started = time.perf_counter()
        with _start_ours(root / f"ours-start-{attempt}", store) as ours:
            _first_prediction(ours.ports["inference"], body)
            times["ours"].append(time.perf_counter() - started)
    baseline = Measurement(
        "TorchServe 0.12 (--models tiny=tiny.mar)",
        "torchserve --start --foreground --ncs --ts-config config.properties "
        "--model-store store --models tiny=tiny.mar; POST /predictions/tiny until 200",
        tuple(times["ts"]),
    )
    subject = Measurement(
        "mar serve (--models tiny=tiny.mar, empty cache)",
        "mar serve --ts-config config.properties --model-store store --models tiny=tiny.mar; "
        "POST /predictions/tiny until 200",
        tuple(times["ours"]),
    )
    ratio = subject.median / baseline.median
    return [
        Comparison(
            "serve: start-up to first successful prediction, tiny eager model",
            subject,
            baseline,
            target="≤ 0.5× TorchServe's",
            met=ratio <= 0.5,
        )
    ]


def _load(
    venv: Path, root: Path, store: Path, body: bytes, seconds: float, repeats: int
) -> list[Comparison]:
    results: dict[tuple[str, int], list[LoadResult]] = {}
    with (
        _start_torchserve(venv, root / "ts-load", store) as theirs,
        _start_ours(root / "ours-load", store) as ours,
    ):
        ports = {"ts": theirs.ports["inference"], "ours": ours.ports["inference"]}
        for port in ports.values():
            _first_prediction(port, body)
        for concurrency in CONCURRENCY:
            for port in ports.values():  # warm-up, untimed
                run_load(port, "/predictions/tiny", body, "application/json", concurrency, 1.0)
            for _ in range(repeats):
                for key, port in ports.items():
                    result = run_load(
                        port, "/predictions/tiny", body, "application/json", concurrency, seconds
                    )
                    results.setdefault((key, concurrency), []).append(result)
        rss = {"ts": _frontend_rss(theirs.pid), "ours": _vm_hwm(ours.pid)}
    comparisons = []
    for concurrency in CONCURRENCY:
        ts_runs, our_runs = results[("ts", concurrency)], results[("ours", concurrency)]
        throughput = _measurements(ts_runs, our_runs, lambda r: 1.0 / r.requests_per_second)
        comparisons.append(
            _compare(
                f"serve: time per request (1 / throughput), concurrency {concurrency}",
                throughput,
                "≤ 0.67× (≥ 1.5× TorchServe's requests/s)",
                1 / 1.5,
            )
        )
        p99 = _measurements(ts_runs, our_runs, lambda r: r.p99)
        comparisons.append(
            _compare(
                f"serve: p99 latency, concurrency {concurrency}", p99, "≤ 1× TorchServe's p99", 1.0
            )
        )
    baseline = Measurement(
        "TorchServe 0.12 Java frontend", "java (TorchServe frontend)", (1.0,), rss["ts"]
    )
    subject = Measurement(
        "mar serve process",
        "mar serve",
        (1.0,),
        rss["ours"],
        notes={"ratio": f"{rss['ours'] / rss['ts']:.2f}× of TorchServe's frontend"},
    )
    comparisons.append(
        Comparison(
            "serve: server process peak RSS after the load runs (workers not counted)",
            subject, baseline, target="peak RSS ≤ 0.25× TorchServe's frontend",
            met=rss["ours"] <= 0.25 * rss["ts"],
        )
    )  # fmt: skip
    return comparisons


def _measurements(
    ts_runs: list[LoadResult], our_runs: list[LoadResult], value: Callable[[LoadResult], float]
) -> tuple[Measurement, Measurement]:
    def one(label: str, runs: list[LoadResult]) -> Measurement:
        notes = {
            "req/s": ", ".join(f"{r.requests_per_second:.0f}" for r in runs),
            "p50": ", ".join(f"{r.p50 * 1000:.2f} ms" for r in runs),
            "p99": ", ".join(f"{r.p99 * 1000:.2f} ms" for r in runs),
            "load": runs[0].generator,
        }
        return Measurement(label, f"{generator_name()} POST /predictions/tiny",
                           tuple(value(r) for r in runs), notes=notes)  # fmt: skip

    return one("TorchServe 0.12", ts_runs), one("mar serve", our_runs)


def _compare(
    title: str, pair: tuple[Measurement, Measurement], target: str, limit: float
) -> Comparison:
    baseline, subject = pair
    ratio = statistics.median(subject.seconds) / statistics.median(baseline.seconds)
    return Comparison(title, subject, baseline, target=target, met=ratio <= limit)


def _frontend_rss(launcher: int) -> int:
    for pid in (launcher, *descendants(launcher)):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "java":
            return _vm_hwm(pid)
    raise RuntimeError("TorchServe's java process not found")


def _vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for {pid}")
