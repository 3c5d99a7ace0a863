"""The four ``service_envelope``s, served by ``mar serve`` and by TorchServe 0.12.

``service_envelope`` is a server-wide setting, so each envelope gets its own pair of servers
(started together) on the session's model store, serving one small echo model (directory
format, no torch). The same KServe v1/v2 and TorchServe requests, including malformed JSON,
must get the same status, content type and body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.compat.answers import Answer, assert_same_answer
from tests.support.http_client import HttpResponse, exchange
from tests.support.mar_serve import MarServe
from tests.support.torchserve import TEST_VMARGS, TorchServe
from tests.support.upstream import torchserve_venv

pytestmark = [pytest.mark.compat, pytest.mark.slow]

MODEL = "envelope-echo"
HANDLER = """
def _plain(item):
    if hasattr(item, "tolist"):
        return {"array": item.tolist(), "dtype": str(item.dtype)}
    if isinstance(item, (bytes, bytearray)):
        return {"bytes": item.decode("utf-8", "replace")}
    if isinstance(item, dict):
        return {"dict": {str(key): _plain(value) for key, value in item.items()}}
    if isinstance(item, list):
        return {"list": [_plain(value) for value in item]}
    return {"value": item}


def handle(data, context):
    if data is None:
        return None
    return [_plain(item) for item in data]
"""
INSTANCES = json.dumps({"instances": [[1.0, 2.0], [3.0, 4.0]]}).encode()
V2 = json.dumps(
    {
        "id": "r1",
        "inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}],
    }
).encode()
REQUESTS = [
    ("/predictions/" + MODEL, INSTANCES),
    ("/explanations/" + MODEL, INSTANCES),
    (f"/v1/models/{MODEL}:predict", INSTANCES),
    (f"/v1/models/{MODEL}:explain", INSTANCES),
    (f"/v2/models/{MODEL}/infer", V2),
    (f"/v2/models/{MODEL}/explain", V2),
    (f"/v1/models/{MODEL}:predict", b"{not json"),
    (f"/v2/models/{MODEL}/infer", b"{not json"),
]
ENVELOPES = ("body", "json", "kserve", "kservev2")


def _write_model(store: Path) -> None:
    model = store / MODEL
    (model / "MAR-INF").mkdir(parents=True, exist_ok=True)
    (model / "echo_handler.py").write_text(HANDLER)
    manifest = {
        "createdOn": "01/01/2026 00:00:00",
        "runtime": "python",
        "model": {"modelName": MODEL, "handler": "echo_handler.py", "modelVersion": "1.0"},
        "archiverVersion": "0.12.0",
    }
    (model / "MAR-INF" / "MANIFEST.json").write_text(json.dumps(manifest, indent=2))


@pytest.fixture(scope="module", params=ENVELOPES)
def answers(
    request: pytest.FixtureRequest,
    compat_dir: Path,
    model_store: Path,
    mar_env: dict[str, str],
) -> Iterator[tuple[list[HttpResponse], list[HttpResponse]]]:
    """Each envelope's answers from TorchServe and from mar serve, in REQUESTS order."""
    envelope = request.param
    _write_model(model_store)
    properties = {"service_envelope": envelope}
    home = compat_dir / f"envelope-{envelope}"

    def torchserve() -> TorchServe:
        return TorchServe.start(
            torchserve_venv(),
            home / "torchserve",
            model_store=model_store,
            vmargs=TEST_VMARGS,
            properties=properties,
        )

    def ours() -> MarServe:
        return MarServe.start(
            home / "mar-serve", model_store=model_store, properties=properties, env=mar_env
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        theirs_started, ours_started = pool.submit(torchserve), pool.submit(ours)
        servers: list[TorchServe | MarServe] = [theirs_started.result(), ours_started.result()]
    try:
        results: list[list[HttpResponse]] = []
        for server in servers:
            registered = server.register(MODEL)
            assert registered.status == 200, registered.body
            results.append(
                [
                    exchange(
                        server.ports["inference"],
                        "POST",
                        path,
                        body=body,
                        headers={"Content-Type": "application/json"},
                    )
                    for path, body in REQUESTS
                ]
            )
        yield results[0], results[1]
    finally:
        for server in servers:
            server.stop()


@pytest.mark.parametrize("index", range(len(REQUESTS)), ids=[f"{p}-{b[:6]!r}" for p, b in REQUESTS])
def test_envelope_answers(
    answers: tuple[list[HttpResponse], list[HttpResponse]], index: int
) -> None:
    theirs, ours = answers[0][index], answers[1][index]
    assert_same_answer(Answer.from_http(ours), Answer.from_http(theirs), what=REQUESTS[index][0])
