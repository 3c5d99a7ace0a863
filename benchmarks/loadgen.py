"""HTTP load for the server benchmarks: ``wrk`` when installed, else a built-in generator.

Both are closed-loop keep-alive generators: *concurrency* connections, each sending the next
request as soon as the previous answer is in, for *seconds*. The result is requests per
second and the 50th/99th latency percentiles; any non-2xx answer or socket error fails the
run (a server that answers errors fast must not look fast).

* ``wrk`` (C, ``wrk -t1 -c N -d S --latency -s post.lua``): the preferred generator, named
  in the results; one thread, so it takes one core's share at most.
* the built-in generator (asyncio, raw HTTP/1.1 on keep-alive connections) is used where
  ``wrk`` is missing (CI's quick smoke run); it costs more CPU per request, on both servers
  alike.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoadResult:
    """One run: throughput, latency percentiles (seconds), and which generator made it."""

    requests_per_second: float
    p50: float
    p99: float
    requests: int
    generator: str


def generator_name() -> str:
    return "wrk" if shutil.which("wrk") else "built-in asyncio generator"


def run_load(
    port: int, path: str, body: bytes, content_type: str, concurrency: int, seconds: float
) -> LoadResult:
    """Load ``POST http://127.0.0.1:{port}{path}`` (see the module docstring)."""
    if shutil.which("wrk"):
        return _wrk(port, path, body, content_type, concurrency, seconds)
    return asyncio.run(_builtin(port, path, body, content_type, concurrency, seconds))


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _duration(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _wrk(
    port: int, path: str, body: bytes, content_type: str, concurrency: int, seconds: float
) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="mar-bench-wrk-") as tmp:
        script = Path(tmp) / "post.lua"
        lua_body = body.decode("utf-8").replace("\\", "\\\\").replace('"', '\\"')
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = "{lua_body}"\n'
            f'wrk.headers["Content-Type"] = "{content_type}"\n'
        )
        done = subprocess.run(
            [
                "wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s",
                "--latency", "--timeout", "30s", "-s", str(script),
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )  # fmt: skip
    out = done.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _duration(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _duration(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return LoadResult(rps, p50, p99, total, "wrk")


async def _builtin(
    port: int, path: str, body: bytes, content_type: str, concurrency: int, seconds: float
) -> LoadResult:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = re.search(rb"(?i)content-length:\s*(\d+)", head)
                if length is None:
                    raise RuntimeError(f"no content-length in {head!r}")
                await reader.readexactly(int(length.group(1)))
                if not 200 <= status < 300:
                    raise RuntimeError(f"status {status}")
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return LoadResult(
        len(latencies) / elapsed, statistics.median(ordered), p99, len(latencies), "built-in"
    )
