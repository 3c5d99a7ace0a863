"""The compat requests of ``mar serve`` give the same answers through Ray Serve.

Two of the compat suite's models (``probe``, which reports everything a handler sees, and
``micro_batching``, a torch model) are built with our archiver and registered with two
replicas each in ``mar serve --engine ray`` on the two-node cluster, and with the same
parameters in a plain ``mar serve`` on the same store. Every single request and explanation
of the compat catalogue, and the batch probes, must get the same status, content type,
handler headers and body from both.

The reference is ``mar serve``'s local engine, not TorchServe: tests/compat/test_mar_serve.py
proves in the same CI run that ``mar serve`` answers these archives and requests exactly as
TorchServe 0.12 does, so equal answers here mean equal to TorchServe's; and a difference
here can only come from the engine, which is the thing under test. (Starting TorchServe's
JVM again for this package would cost a minute of CI for no extra coverage.)

Batching is TorchServe's inside each replica: the batch probes go to a registration with
one replica (with two, Ray's router may spread one client's burst over both replicas, each
then batching its share).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.answers import Answer, assert_same_answer
from tests.compat.archives import Archive, build
from tests.compat.catalog import MICRO_BATCHING, PROBE
from tests.compat.commands import our_tool
from tests.compat.model_spec import ModelSpec
from tests.support.http_client import HttpResponse
from tests.support.mar_serve import MarServe

pytestmark = [pytest.mark.ray, pytest.mark.slow]
MODELS = (PROBE, MICRO_BATCHING)
BATCH_DELAY_MS = 5000


@pytest.fixture(scope="module")
def archives(ray_root: Path, ray_store: Path) -> dict[str, Archive]:
    staging = ray_root / "sources"
    staging.mkdir()
    tool = [str(our_tool("torch-model-archiver"))]
    return {
        spec.name: build(tool, spec, spec.staged(staging), "default", ray_store) for spec in MODELS
    }


@pytest.fixture(scope="module")
def local_serve(ray_root: Path, ray_env: dict[str, str], ray_store: Path) -> Iterator[MarServe]:
    with MarServe.start(ray_root / "local", model_store=ray_store, env=ray_env) as server:
        yield server


def _register_all(server: MarServe, archives: dict[str, Archive], workers: int) -> None:
    for spec in MODELS:
        archive = archives[spec.name]
        answer = server.register(
            archive.url, model_name=archive.model_name, initial_workers=workers, timeout=300
        )
        assert answer.status == 200, answer.body
        if spec.batch:
            batch = server.register(
                archive.url,
                model_name=f"{archive.model_name}-batch",
                batch_size=len(spec.batch),
                max_batch_delay=BATCH_DELAY_MS,
                initial_workers=1,
                timeout=300,
            )
            assert batch.status == 200, batch.body


def _answers(server: MarServe, archives: dict[str, Archive]) -> dict[str, HttpResponse]:
    found: dict[str, HttpResponse] = {}
    for spec in MODELS:
        name = archives[spec.name].model_name
        for probe in (*spec.singles, *spec.explanations):
            found[f"{spec.name}/{probe.label}"] = server.predict(name, probe.request)
        if spec.batch:
            batch = server.predict_together(f"{name}-batch", [p.request for p in spec.batch])
            for probe, response in zip(spec.batch, batch, strict=True):
                found[f"{spec.name}/{probe.label}"] = response
    return found


@pytest.fixture(scope="module")
def compared(
    ray_serve: MarServe, local_serve: MarServe, archives: dict[str, Archive]
) -> Iterator[tuple[dict[str, HttpResponse], dict[str, HttpResponse]]]:
    """(Ray's answers, the local engine's answers) by ``model/probe``."""
    _register_all(ray_serve, archives, workers=2)
    _register_all(local_serve, archives, workers=1)
    yield _answers(ray_serve, archives), _answers(local_serve, archives)
    for spec in MODELS:
        name = archives[spec.name].model_name
        for registration in (name, f"{name}-batch"):
            ray_serve.unregister(registration)


def _labels(spec: ModelSpec) -> list[str]:
    return [p.label for p in (*spec.singles, *spec.explanations, *spec.batch)]


@pytest.mark.parametrize(
    "key", [f"{spec.name}/{label}" for spec in MODELS for label in _labels(spec)]
)
def test_same_answer_as_mar_serve(
    key: str, compared: tuple[dict[str, HttpResponse], dict[str, HttpResponse]]
) -> None:
    ours, reference = compared
    assert_same_answer(Answer.from_http(ours[key]), Answer.from_http(reference[key]), what=key)


def test_two_replicas_each(
    ray_serve: MarServe,
    archives: dict[str, Archive],
    compared: tuple[dict[str, HttpResponse], dict[str, HttpResponse]],
) -> None:
    """Both models ran with two ready replicas (``describe`` lists Ray's replicas)."""
    del compared
    for spec in MODELS:
        described = ray_serve.management("GET", f"/models/{archives[spec.name].model_name}")
        model = described.json()[0]
        assert (model["minWorkers"], model["maxWorkers"]) == (2, 2)
        assert [w["status"] for w in model["workers"]] == ["READY", "READY"]
