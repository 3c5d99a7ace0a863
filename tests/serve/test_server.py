"""``mar serve`` end to end: token authorization as TorchServe 0.12 does it, the model API
switch, ``--reload``, configuration warnings and start-up models."""

from __future__ import annotations

import json
import stat
import threading
import time
from pathlib import Path

import pytest

from tests.serve.conftest import StartServer
from tests.serve.models import ECHO_HANDLER, write_model
from tests.support.http_client import exchange

#: The body TorchServe 0.12 sends for a missing or wrong token (recorded, 154 bytes).
INVALID_KEY_BODY = (
    b'{\n  "code": 400,\n  "type": "InvalidKeyException",\n  "message": "Token Authorization '
    b'failed. Token either incorrect, expired, or not provided correctly"\n}\n'
)
pytestmark = pytest.mark.slow


def test_token_authorization_matches_torchserve(start_server: StartServer) -> None:
    server = start_server(
        args=["--models", "echo=echo"], properties={"disable_token_authorization": "false"}
    )
    key_file = server.home / "key_file.json"
    keys = json.loads(key_file.read_text())
    assert set(keys) == {"management", "inference", "API"}
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(keys["inference"]["key"]) == 8
    port, management = server.ports["inference"], server.ports["management"]
    inference_key = {"Authorization": f"Bearer {keys['inference']['key']}"}
    management_key = {"Authorization": f"Bearer {keys['management']['key']}"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        answer = exchange(port, "GET", "/ping", headers=headers)
        assert (answer.status, answer.body) == (400, INVALID_KEY_BODY)
        assert len(answer.body) == 154
    assert exchange(port, "GET", "/ping", headers=inference_key).status == 200
    refused = exchange(management, "GET", "/models", headers=inference_key)
    assert (refused.status, refused.body) == (400, INVALID_KEY_BODY)
    assert exchange(management, "GET", "/models", headers=management_key).status == 200
    assert exchange(port, "OPTIONS", "/").status == 200  # the API description needs no key
    renewed = exchange(
        management,
        "PUT",
        "/token?type=inference",
        headers={"Authorization": f"Bearer {keys['API']['key']}"},
    )
    assert renewed.status == 200
    assert exchange(port, "GET", "/ping", headers=inference_key).status == 400
    fresh = json.loads(key_file.read_text())["inference"]["key"]
    assert (
        exchange(port, "GET", "/ping", headers={"Authorization": f"Bearer {fresh}"}).status == 200
    )


def test_model_api_is_off_unless_enabled(start_server: StartServer) -> None:
    server = start_server(properties={"enable_model_api": "false"})
    register = server.management("POST", "/models?url=echo")
    assert register.status == 405
    assert register.json()["type"] == "MethodNotAllowedException"
    assert server.management("GET", "/models").json() == {"models": []}


def test_register_scale_describe_unregister(start_server: StartServer) -> None:
    server = start_server()
    answer = server.management("POST", "/models?url=echo&initial_workers=1&synchronous=true")
    assert (answer.status, answer.json()) == (
        200,
        {"status": 'Model "echo" Version: 1.0 registered with 1 initial workers'},
    )
    scaled = server.management("PUT", "/models/echo?min_worker=2&synchronous=true")
    assert scaled.json() == {"status": "Workers scaled to 2 for model: echo"}
    workers = server.management("GET", "/models/echo").json()[0]["workers"]
    assert [w["status"] for w in workers] == ["READY", "READY"]
    assert len({w["pid"] for w in workers}) == 2
    assert server.management("PUT", "/models/echo?min_worker=1").status == 202
    gone = server.management("DELETE", "/models/echo")
    assert gone.json() == {"status": 'Model "echo" unregistered'}
    assert server.inference("POST", "/predictions/echo").status == 404


def test_refuses_urls_outside_the_allowed_list(start_server: StartServer) -> None:
    server = start_server()
    answer = server.management("POST", "/models?url=http://127.0.0.1:1/x.mar")
    assert answer.status == 404
    assert answer.json()["message"] == (
        "Given URL http://127.0.0.1:1/x.mar does not match any allowed URL(s)"
    )
    outside = server.management("POST", "/models?url=/etc")
    assert outside.status == 404


def test_reload_restarts_workers_when_the_handler_changes(
    start_server: StartServer, store: Path
) -> None:
    model = write_model(store, "live")
    server = start_server(args=["--models", "live=live", "--reload"])
    deadline = time.monotonic() + 60
    while server.inference("POST", "/predictions/live", body=b"a").status != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    first = server.inference("POST", "/predictions/live", body=b"a").json()
    (model / "handler.py").write_text(ECHO_HANDLER.replace('"echo":', '"changed":'))
    deadline = time.monotonic() + 60
    while True:
        answer = server.inference("POST", "/predictions/live", body=b"a", timeout=60)
        if answer.status == 200 and "changed" in answer.json():
            break
        assert time.monotonic() < deadline, answer.body
        time.sleep(0.2)
    assert answer.json()["pid"] != first["pid"]
    assert server.exit_code() is None


def test_config_warnings_one_per_key(start_server: StartServer) -> None:
    server = start_server(
        properties={"vmargs": "-Xmx1g", "frobnicate": "yes", "grpc_inference_port": "7070"}
    )
    server.stop()
    log = server.logs()
    assert log.count("vmargs has no effect") == 1
    assert log.count("unknown key 'frobnicate'") == 1
    assert log.count("grpc_inference_port has no effect") == 1


def test_archive_arguments_are_served(start_server: StartServer, store: Path) -> None:
    server = start_server(args=[str(store / "echo")])
    deadline = time.monotonic() + 60
    while True:
        answer = server.inference("POST", "/predictions/echo", body=b"hi", timeout=60)
        if answer.status == 200:
            break
        assert time.monotonic() < deadline, answer.body
        time.sleep(0.1)
    assert answer.json()["echo"] == "hi"
    described = server.management("GET", "/models/echo").json()[0]
    assert described["loadedAtStartup"] is True


def test_unregister_answers_the_request_in_flight(start_server: StartServer) -> None:
    server = start_server(args=["--models", "echo=echo"])
    deadline = time.monotonic() + 60
    while server.inference("POST", "/predictions/echo", body=b"ok").status != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    answers: list[int] = []
    thread = threading.Thread(
        target=lambda: answers.append(
            server.inference("POST", "/predictions/echo", body=b"sleep:30", timeout=60).status
        )
    )
    thread.start()
    time.sleep(0.5)
    assert server.management("DELETE", "/models/echo").status == 200
    thread.join(20)
    assert answers == [503]
