"""``mar serve --kserve`` on a directory laid out as KServe mounts it for its TorchServe
runtime: ``config/config.properties`` (TorchServe's keys: inference and management on one
port, ``model_snapshot``, ``enable_envvars_config`` with ``TS_SERVICE_ENVELOPE``) and
``model-store/``. KServe's v1 and v2 protocols are answered on the KServe address as that
runtime answered them: predictions are TorchServe's answers (the same server's own
``/v1/models/...:predict`` route, which tests/compat/test_serve_envelopes.py compares with
TorchServe 0.12 for each envelope) re-encoded compactly, as KServe's model server relayed
them; health, readiness, listing and metadata as KServe's model server answers them."""

from __future__ import annotations

import json
import os
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.test_serve_envelopes import HANDLER, INSTANCES, V2
from tests.serve.models import write_model
from tests.support.http_client import HttpResponse, exchange
from tests.support.mar_serve import MAR, MarServe
from tests.support.process_group import ProcessGroup
from tests.support.torchserve import free_ports

pytestmark = pytest.mark.slow
MODEL = "mnist"


def _layout(root: Path, ports: dict[str, int]) -> Path:
    """KServe's TorchServe layout under *root*: the echo handler registered as ``mnist``."""
    store = root / "model-store"
    store.mkdir(parents=True)
    write_model(store, "echo", HANDLER)
    snapshot = {
        "name": "startup.cfg",
        "modelCount": 1,
        "models": {
            MODEL: {
                "1.0": {
                    "defaultVersion": True,
                    "marName": "echo",
                    "minWorkers": 1,
                    "maxWorkers": 2,
                    "batchSize": 2,
                    "maxBatchDelay": 50,
                    "responseTimeout": 60,
                }
            }
        },
    }
    config = root / "config"
    config.mkdir()
    (config / "config.properties").write_text(
        f"inference_address=http://127.0.0.1:{ports['inference']}\n"
        f"management_address=http://127.0.0.1:{ports['inference']}\n"
        f"metrics_address=http://127.0.0.1:{ports['metrics']}\n"
        "grpc_inference_port=7070\n"
        "enable_envvars_config=true\n"
        "install_py_dep_per_model=true\n"
        "enable_metrics_api=true\n"
        "metrics_mode=prometheus\n"
        "number_of_netty_threads=4\n"
        "job_queue_size=10\n"
        "disable_token_authorization=true\n"
        "number_of_gpu=0\n"
        f"model_store={store}\n"
        f"model_snapshot={json.dumps(snapshot)}\n"
    )
    return root


def _start(root: Path, home: Path, envelope: str, extra: list[str] | None = None) -> MarServe:
    inference, metrics, kserve = free_ports(3)
    if not (root / "config").exists() and not extra:
        _layout(root, {"inference": inference, "metrics": metrics})
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MAR_CACHE_DIR": str(home / "cache"), "TS_SERVICE_ENVELOPE": envelope}
    args = [str(MAR), "serve", "--kserve", "--kserve-root", str(root)]
    args += ["--kserve-address", f"http://127.0.0.1:{kserve}", *(extra or [])]
    group = ProcessGroup.start(args, cwd=home, env=env, output=home / "serve.log")
    ports = {"inference": inference, "management": inference, "metrics": metrics, "kserve": kserve}
    if extra:  # an archive in the root: the default configuration's ports
        ports = {"inference": 8080, "management": 8081, "metrics": 8082, "kserve": kserve}
    server = MarServe(group, home, root / "model-store", ports)
    try:
        server.wait_ready(120)
        _wait_model(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_model(server: MarServe) -> None:
    deadline = time.monotonic() + 120
    while _kserve(server, "GET", f"/v1/models/{MODEL}").json().get("ready") is not True:
        assert time.monotonic() < deadline, server.logs()
        time.sleep(0.2)


def _kserve(server: MarServe, method: str, path: str, body: bytes | None = None) -> HttpResponse:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    return exchange(server.ports["kserve"], method, path, body=body, headers=headers)


@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarServe]:
    root = tmp_path_factory.mktemp("kserve-v1")
    with _start(root / "mnt-models", root / "home", "kserve") as server:
        yield server


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarServe]:
    root = tmp_path_factory.mktemp("kserve-v2")
    with _start(root / "mnt-models", root / "home", "kservev2") as server:
        yield server


def _relayed(server: MarServe, path: str, body: bytes) -> tuple[HttpResponse, HttpResponse]:
    """(KServe port's answer, the inference API's answer) to the same request."""
    direct = exchange(
        server.ports["inference"], "POST", path, body=body,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    return _kserve(server, "POST", path, body), direct


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def test_v1_predict_and_explain_relay_torchserves_answer(v1: MarServe) -> None:
    for op in ("predict", "explain"):
        ours, torchserve = _relayed(v1, f"/v1/models/{MODEL}:{op}", INSTANCES)
        assert (ours.status, torchserve.status) == (200, 200), ours.body
        assert ours.content_type == "application/json"
        assert ours.body == _compact(json.loads(torchserve.body))
        assert "predictions" in ours.json() if op == "predict" else True
    rows = json.loads(INSTANCES)["instances"]
    predictions = [{"list": [{"value": value} for value in row]} for row in rows]
    answer = _kserve(v1, "POST", f"/v1/models/{MODEL}:predict", INSTANCES)
    assert answer.json() == {"predictions": predictions}


def test_v1_errors_are_kserves_error_json(v1: MarServe) -> None:
    bad = _kserve(v1, "POST", f"/v1/models/{MODEL}:predict", b"{not json")
    direct = exchange(
        v1.ports["inference"], "POST", f"/v1/models/{MODEL}:predict", body=b"{not json",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert bad.status == direct.status >= 400
    assert bad.json() == {"error": direct.json()["message"]}
    missing = _kserve(v1, "POST", "/v1/models/nope:predict", INSTANCES)
    assert (missing.status, missing.json()) == (404, {"error": "Model not found: nope"})


def test_v1_health_listing_and_readiness(v1: MarServe) -> None:
    assert _kserve(v1, "GET", "/").json() == {"status": "alive"}
    assert _kserve(v1, "GET", "/v1/models").json() == {"models": [MODEL]}
    assert _kserve(v1, "GET", f"/v1/models/{MODEL}").json() == {"name": MODEL, "ready": True}
    unknown = _kserve(v1, "GET", "/v1/models/nope")
    assert unknown.status == 404
    assert unknown.json() == {"error": "Model with name nope does not exist."}


def test_the_snapshot_and_the_shared_port_are_read_as_torchserve_reads_them(v1: MarServe) -> None:
    # management_address == inference_address: both APIs answer on the one port.
    described = exchange(v1.ports["inference"], "GET", f"/models/{MODEL}").json()[0]
    assert described["modelUrl"] == "echo"
    assert described["loadedAtStartup"] is True
    picked = {k: described[k] for k in ("batchSize", "maxBatchDelay", "responseTimeout")}
    assert picked == {"batchSize": 2, "maxBatchDelay": 50, "responseTimeout": 60}
    assert (described["minWorkers"], described["maxWorkers"]) == (1, 2)
    # TS_SERVICE_ENVELOPE=kserve applied (enable_envvars_config=true): instances unpacked.
    assert exchange(v1.ports["inference"], "GET", "/ping").status == 200


def test_v2_infer_relays_torchserves_answer(v2: MarServe) -> None:
    for op in ("infer", "explain"):
        ours, torchserve = _relayed(v2, f"/v2/models/{MODEL}/{op}", V2)
        assert (ours.status, torchserve.status) == (200, 200), ours.body
        assert ours.body == _compact(json.loads(torchserve.body))
    answer = _kserve(v2, "POST", f"/v2/models/{MODEL}/infer", V2).json()
    # The envelope names the archive's model (its manifest's modelName), as TorchServe's does.
    assert (answer["id"], answer["model_name"]) == ("r1", "echo")
    assert answer["outputs"]


def test_v2_health_and_metadata(v2: MarServe) -> None:
    assert _kserve(v2, "GET", "/v2/health/live").json() == {"live": True}
    assert _kserve(v2, "GET", "/v2/health/ready").json() == {"ready": True}
    assert _kserve(v2, "GET", f"/v2/models/{MODEL}/ready").json() == {"name": MODEL, "ready": True}
    assert _kserve(v2, "GET", f"/v2/models/{MODEL}").json() == {
        "name": MODEL,
        "versions": ["1.0"],
        "platform": "",
        "inputs": [],
        "outputs": [],
    }
    assert _kserve(v2, "GET", "/v2").json()["name"] == "mar-tools"


def test_a_root_without_the_layout_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(MAR), "serve", "--kserve", "--kserve-root", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert done.returncode == 2
    assert "no config/config.properties, model-store/ or model archive here" in done.stderr


def test_an_archive_in_the_root_is_served_under_its_name(tmp_path: Path) -> None:
    source = write_model(tmp_path / "src", MODEL, HANDLER)
    root = tmp_path / "mnt-models"
    root.mkdir()
    with zipfile.ZipFile(root / f"{MODEL}.mar", "w") as archive:
        for path in sorted(source.rglob("*")):
            archive.write(path, path.relative_to(source).as_posix())
    with _start(root, tmp_path / "home", "kserve", ["--disable-token-auth"]) as server:
        answer = _kserve(server, "POST", f"/v1/models/{MODEL}:predict", INSTANCES)
        assert answer.status == 200, answer.body
        assert len(answer.json()["predictions"]) == 2
