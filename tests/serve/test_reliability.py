"""``mar serve`` under load and failure, on loopback only, every loop bounded in count and time.

32 concurrent clients get their own answers; a worker killed with SIGKILL under load fails
only its batch (503) and comes back; a stuck worker is killed after ``responseTimeout``; a
full queue answers 503 at once; malformed requests get a 4xx and leave the server serving;
SIGTERM lets the request in flight finish and exits 0.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.serve.conftest import StartServer
from tests.serve.models import write_model
from tests.support.http_client import HttpResponse, exchange
from tests.support.mar_serve import MarServe

pytestmark = pytest.mark.slow


def _post(server: MarServe, model: str, body: bytes, timeout: float = 60) -> HttpResponse:
    return exchange(
        server.ports["inference"],
        "POST",
        f"/predictions/{model}",
        body=body,
        headers={"Content-Type": "text/plain"},
        timeout=timeout,
    )


def _workers(server: MarServe, model: str) -> list[dict[str, object]]:
    answer = server.management("GET", f"/models/{model}")
    workers: list[dict[str, object]] = answer.json()[0]["workers"]
    return workers


def _wait_ready(server: MarServe, model: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = _workers(server, model)
        if sum(1 for w in workers if w["status"] == "READY") >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{model}: {count} workers not ready: {_workers(server, model)}")


def test_32_concurrent_clients_get_their_own_answers(
    start_server: StartServer, store: Path
) -> None:
    write_model(store, "batched", config="batchSize: 4\nmaxBatchDelay: 5\n")
    server = start_server(
        args=["--models", "batched=batched"], properties={"default_workers_per_model": "2"}
    )
    _wait_ready(server, "batched", 2)
    per_client = 10

    def client(index: int) -> list[tuple[str, HttpResponse]]:
        results = []
        for round_ in range(per_client):
            text = f"client-{index}-request-{round_}"
            results.append((text, _post(server, "batched", text.encode())))
        return results

    with ThreadPoolExecutor(max_workers=32) as pool:
        everything = [r for results in pool.map(client, range(32)) for r in results]
    assert len(everything) == 32 * per_client
    batches = set()
    for text, response in everything:
        assert response.status == 200, response.body
        answer = response.json()
        assert answer["echo"] == text
        batches.add(answer["batch"])
    assert max(batches) > 1, "concurrent requests were never batched"


def test_kill_9_under_load_fails_only_the_batch_and_recovers(
    start_server: StartServer,
) -> None:
    server = start_server(args=["--models", "echo=echo"])
    _wait_ready(server, "echo", 1)
    victim = int(_workers(server, "echo")[0]["pid"])  # type: ignore[call-overload]
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(_post, server, "echo", b"sleep:1.0") for _ in range(6)]
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        answers = [future.result(timeout=60) for future in futures]
    failed = [a for a in answers if a.status != 200]
    assert len(failed) == 1, [(a.status, a.body) for a in answers]
    assert failed[0].status == 503
    assert failed[0].json() == {
        "code": 503,
        "type": "InternalServerException",
        "message": "Worker died.",
    }
    _wait_ready(server, "echo", 1)
    assert int(_workers(server, "echo")[0]["pid"]) != victim  # type: ignore[call-overload]
    assert server.inference("GET", "/ping").json() == {"status": "Healthy"}
    assert _post(server, "echo", b"after").json()["echo"] == "after"


def test_stuck_worker_is_killed_after_response_timeout(
    start_server: StartServer, store: Path
) -> None:
    write_model(store, "stuck", config="responseTimeout: 1\n")
    server = start_server(args=["--models", "stuck=stuck"])
    _wait_ready(server, "stuck", 1)
    started = time.monotonic()
    answer = _post(server, "stuck", b"hang")
    assert answer.status == 503
    assert time.monotonic() - started < 15
    _wait_ready(server, "stuck", 1)
    assert _post(server, "stuck", b"fine").status == 200


def test_full_queue_answers_503_at_once(start_server: StartServer) -> None:
    server = start_server(args=["--models", "echo=echo"], properties={"job_queue_size": "2"})
    _wait_ready(server, "echo", 1)
    with ThreadPoolExecutor(max_workers=3) as pool:
        busy = pool.submit(_post, server, "echo", b"sleep:2")
        time.sleep(0.4)
        queued = [pool.submit(_post, server, "echo", b"sleep:0") for _ in range(2)]
        time.sleep(0.4)
        refused = _post(server, "echo", b"too many", timeout=5)
        assert refused.status == 503
        assert refused.json()["type"] == "ServiceUnavailableException"
        assert refused.json()["message"].startswith('Model "echo" has no worker to serve')
        assert busy.result(30).status == 200
        assert all(f.result(30).status == 200 for f in queued)


def test_malformed_requests_get_4xx_and_leave_the_server_serving(
    start_server: StartServer,
) -> None:
    server = start_server(args=["--models", "echo=echo"])
    _wait_ready(server, "echo", 1)
    port = server.ports["inference"]
    bad_multipart = exchange(
        port,
        "POST",
        "/predictions/echo",
        body=b"--xyz\r\nno headers and no end",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert bad_multipart.status == 400
    assert bad_multipart.json()["type"] == "BadRequestException"
    no_boundary = exchange(
        port,
        "POST",
        "/predictions/echo",
        body=b"x",
        headers={"Content-Type": "multipart/form-data"},
    )
    assert no_boundary.status == 400
    huge_header = exchange(port, "GET", "/ping", headers={"X-Huge": "h" * 20000})
    assert 400 <= huge_header.status < 500
    huge_url = exchange(port, "GET", "/predictions/" + "m" * 20000)
    assert 400 <= huge_url.status < 500
    bad_json = exchange(
        port,
        "POST",
        "/v2/models/echo/infer",
        body=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status == 200  # as TorchServe: the handler gets the undecoded bytes
    # A slow client trickling its headers holds only its own connection.
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        slow.sendall(b"POST /predictions/echo HTTP/1.1\r\nHost: x\r\n")
        for _ in range(3):
            assert _post(server, "echo", b"meanwhile").status == 200
            slow.sendall(b"X-Slow: 1\r\n")
            time.sleep(0.2)
    finally:
        slow.close()
    assert _post(server, "echo", b"still fine").json()["echo"] == "still fine"


def test_sigterm_drains_the_request_in_flight_and_exits_0(start_server: StartServer) -> None:
    server = start_server(args=["--models", "echo=echo"])
    _wait_ready(server, "echo", 1)
    result: list[HttpResponse] = []
    thread = threading.Thread(target=lambda: result.append(_post(server, "echo", b"sleep:1.5")))
    thread.start()
    time.sleep(0.5)
    os.kill(server.pid, signal.SIGTERM)
    thread.join(30)
    assert result and result[0].status == 200, result
    deadline = time.monotonic() + 30
    while server.exit_code() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.exit_code() == 0, server.logs()
    assert "stopped." in server.logs()


def test_streamed_response_is_sent_chunked(start_server: StartServer) -> None:
    server = start_server(args=["--models", "echo=echo"])
    _wait_ready(server, "echo", 1)
    answer = _post(server, "echo", b"stream")
    assert answer.status == 200
    assert answer.body == b"one two three"
    assert answer.headers.get("transfer-encoding") == "chunked"


def test_streamed_parts_reach_the_client_as_they_are_made(start_server: StartServer) -> None:
    """The first chunk arrives while the handler is still working on the next ones."""
    server = start_server(args=["--models", "echo=echo"])
    _wait_ready(server, "echo", 1)
    connection = http.client.HTTPConnection("127.0.0.1", server.ports["inference"], timeout=30)
    try:
        started = time.monotonic()
        connection.request("POST", "/predictions/echo", body=b"stream:1.0")
        response = connection.getresponse()
        first = response.read1(100)
        first_at = time.monotonic() - started
        rest = response.read()
        total = time.monotonic() - started
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("ts_stream_next") == "true"
    assert first == b"one "
    assert first + rest == b"one two three"
    assert first_at < total - 1.0, (first_at, total)


def test_json_log_format(start_server: StartServer) -> None:
    server = start_server(args=["--models", "echo=echo", "--log-format", "json"])
    _wait_ready(server, "echo", 1)
    server.stop()
    lines = (server.home / "serve.log").read_text().splitlines()
    assert lines
    for line in lines:
        record = json.loads(line)
        assert set(record) == {"time", "level", "message"}
