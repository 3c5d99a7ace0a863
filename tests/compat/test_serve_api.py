"""``mar serve``'s APIs against the real TorchServe 0.12: errors, management, KServe routes,
the API description, size limits and metric names.

Both servers register the probe archive under one name (``api-probe``) and get the same
requests; status, content type and body must be equal (describe answers without the fields
that name processes and times).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.compat.archives import Builds, archive_of
from tests.support.http_client import HttpResponse, exchange
from tests.support.mar_serve import MarServe
from tests.support.torchserve import TorchServe

pytestmark = pytest.mark.compat

NAME = "api-probe"
Servers = tuple[TorchServe, MarServe]


@pytest.fixture(scope="module")
def servers(torchserve: TorchServe, mar_serve: MarServe, our_builds: Builds) -> Iterator[Servers]:
    """Both servers with the probe archive registered as ``api-probe``."""
    url = archive_of(our_builds, "probe", "default").url
    for server in (torchserve, mar_serve):
        answer = server.register(url, model_name=NAME)
        assert answer.status == 200, answer.body
    yield torchserve, mar_serve
    for server in (torchserve, mar_serve):
        server.unregister(NAME)


def _both(servers: Servers, api: str, method: str, path: str, **kwargs: Any) -> list[HttpResponse]:
    return [exchange(server.ports[api], method, path, **kwargs) for server in servers]


def _same(answers: list[HttpResponse]) -> None:
    theirs, ours = answers
    assert (ours.status, ours.content_type) == (theirs.status, theirs.content_type), (
        theirs.body,
        ours.body,
    )
    assert ours.body == theirs.body


INFERENCE_CASES = [
    ("POST", "/predictions/nope"),
    ("POST", f"/predictions/{NAME}/9.9"),
    ("GET", "/predictions"),
    ("GET", "/no/such/route"),
    ("GET", "/v2/health/ready"),
    ("GET", "/v2/health/live"),
    ("POST", "/v1/models/nope:predict"),
    ("POST", "/v2/models/nope/infer"),
    ("POST", f"/v1/models/{NAME}:predict"),
    ("POST", f"/v1/models/{NAME}:explain"),
    ("POST", f"/v2/models/{NAME}/infer"),
    ("POST", f"/v2/models/{NAME}/explain"),
    ("GET", "/ping"),
    ("DELETE", "/"),
]


@pytest.mark.parametrize(("method", "path"), INFERENCE_CASES, ids=lambda v: str(v))
def test_inference_routes(servers: Servers, method: str, path: str) -> None:
    body = json.dumps({"instances": [[1.0, 2.0]]}).encode()
    headers = {"Content-Type": "application/json"}
    _same(_both(servers, "inference", method, path, body=body, headers=headers))


MANAGEMENT_CASES = [
    ("GET", "/models/nope"),
    ("GET", f"/models/{NAME}/9.9"),
    ("DELETE", "/models/nope"),
    ("PUT", f"/models/{NAME}/9.9/set-default"),
    ("PUT", "/models/nope?min_worker=1"),
    ("PUT", f"/models/{NAME}?min_worker=2&max_worker=1"),
    ("POST", f"/models?url=nope.mar&model_name={NAME}-x"),
    ("POST", "/models"),
    ("POST", f"/models?url=probe-zip.mar&model_name={NAME}"),
    ("POST", f"/models?url=probe-zip.mar&model_name={NAME}-rt&runtime=java"),
    ("POST", f"/models/{NAME}"),
    ("GET", "/no/such/route"),
    ("PUT", f"/models/{NAME}?min_worker=1&synchronous=true"),
    ("PUT", f"/models/{NAME}?min_worker=1"),
    ("PUT", f"/models/{NAME}/1.0/set-default"),
    ("GET", "/v1/models/nope"),
]


@pytest.mark.parametrize(("method", "path"), MANAGEMENT_CASES, ids=lambda v: str(v))
def test_management_routes(servers: Servers, method: str, path: str) -> None:
    _same(_both(servers, "management", method, path, timeout=120))


def _stable(description: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for model in description:
        model["workers"] = [
            {k: v for k, v in worker.items() if k not in ("id", "startTime", "pid")}
            for worker in model["workers"]
        ]
    return description


def test_describe(servers: Servers) -> None:
    theirs, ours = _both(servers, "management", "GET", f"/models/{NAME}")
    assert (ours.status, ours.content_type) == (theirs.status, theirs.content_type)
    assert _stable(ours.json()) == _stable(theirs.json())


def test_list_pagination_shape(servers: Servers) -> None:
    for answer in _both(servers, "management", "GET", "/models?limit=1"):
        document = answer.json()
        assert answer.status == 200
        assert list(document) == ["nextPageToken", "models"] or list(document) == ["models"]
        assert len(document["models"]) == 1


def test_api_description_paths(servers: Servers) -> None:
    """``OPTIONS /`` lists the same endpoints (the texts are our own)."""
    theirs, ours = _both(servers, "inference", "OPTIONS", "/")
    assert ours.status == theirs.status == 200
    assert ours.content_type == theirs.content_type
    assert sorted(ours.json()["paths"]) == sorted(theirs.json()["paths"])
    assert ours.json()["openapi"] == theirs.json()["openapi"]


def test_oversize_body(servers: Servers) -> None:
    body = b"x" * 6553501
    answers = []
    for server in servers:
        try:
            answers.append(
                exchange(
                    server.ports["inference"], "POST", f"/predictions/{NAME}", body=body
                ).status
            )
        except OSError:
            answers.append(-1)  # the server closed the connection while the body was sent
    assert answers[1] == 413
    assert answers[0] in (413, -1)


def test_metric_names(servers: Servers) -> None:
    """After the same requests, the same frontend and handler metric families have samples."""
    for server in servers:
        exchange(server.ports["inference"], "POST", f"/predictions/{NAME}", body=b"x")
        exchange(server.ports["inference"], "POST", "/predictions/nope", body=b"x")
    names = []
    for server in servers:
        text = exchange(server.ports["metrics"], "GET", "/metrics").body.decode()
        names.append(
            {family.name for family in text_string_to_metric_families(text) if family.samples}
        )
    wanted = {
        "ts_inference_requests", "ts_inference_latency_microseconds",
        "ts_queue_latency_microseconds", "Requests2XX", "Requests4XX", "QueueTime",
        "WorkerLoadTime", "PredictionTime",
    }  # fmt: skip
    theirs, ours = names
    assert wanted <= theirs, sorted(wanted - theirs)
    assert theirs <= ours, sorted(theirs - ours)
