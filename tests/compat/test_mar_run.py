"""``mar run`` answers every request exactly as the real TorchServe 0.12 does.

The same archive (built by our archiver, each format), the same request: TorchServe's HTTP
status, content type, handler-set headers and body must equal what ``mar run --format json``
reports. Single requests run one per batch, batch probes as one batch of the same size and
model name as TorchServe's batching registration, explanations with ``--explain``.
"""

from __future__ import annotations

import pytest

from tests.compat.answers import Answer, assert_same_answer
from tests.compat.archives import FORMATS, Builds, Format, archive_of
from tests.compat.catalog import all_models
from tests.compat.mar_run import MarRunError, MarRunSession
from tests.compat.model_spec import ModelSpec, Probe
from tests.compat.serving import ServingSession, batch_registration
from tests.support.http_client import HttpResponse

pytestmark = pytest.mark.compat

MODELS = {spec.name: spec for spec in all_models()}
SINGLES = [
    pytest.param(spec.name, fmt, probe.label, id=f"{spec.name}-{fmt}-{probe.label}")
    for spec in all_models()
    for fmt in FORMATS
    if fmt not in spec.refused
    for probe in spec.singles
]
EXPLANATIONS = [
    pytest.param(spec.name, fmt, probe.label, id=f"{spec.name}-{fmt}-{probe.label}")
    for spec in all_models()
    for fmt in FORMATS
    if fmt not in spec.refused
    for probe in spec.explanations
]
BATCHES = [
    pytest.param(spec.name, probe.label, id=f"{spec.name}-{probe.label}")
    for spec in all_models()
    for probe in spec.batch
]


def _probe(probes: tuple[Probe, ...], label: str) -> Probe:
    return next(probe for probe in probes if probe.label == label)


def _compare(
    spec: ModelSpec,
    probe: Probe,
    torchserve: HttpResponse | None,
    ours: Answer | MarRunError,
) -> None:
    assert torchserve is not None, f"TorchServe did not load {spec.name} (see test_torchserve)"
    assert torchserve.status == probe.status, f"TorchServe: {torchserve.body!r}"
    if isinstance(ours, MarRunError):
        pytest.fail(str(ours), pytrace=False)
    assert_same_answer(ours, Answer.from_http(torchserve), what=probe.request.path(spec.name))


@pytest.mark.parametrize(("model", "fmt", "label"), SINGLES)
def test_single_request(
    model: str,
    fmt: Format,
    label: str,
    serving: ServingSession,
    mar_runs: MarRunSession,
    our_builds: Builds,
) -> None:
    spec = MODELS[model]
    archive = archive_of(our_builds, model, fmt)
    torchserve = serving.served(spec).responses.get((archive.model_name, label))
    ours = mar_runs.singles(archive, explain=False)[label]
    _compare(spec, _probe(spec.singles, label), torchserve, ours)


@pytest.mark.parametrize(("model", "fmt", "label"), EXPLANATIONS)
def test_explanation(
    model: str,
    fmt: Format,
    label: str,
    serving: ServingSession,
    mar_runs: MarRunSession,
    our_builds: Builds,
) -> None:
    spec = MODELS[model]
    archive = archive_of(our_builds, model, fmt)
    torchserve = serving.served(spec).responses.get((archive.model_name, label))
    ours = mar_runs.singles(archive, explain=True)[label]
    _compare(spec, _probe(spec.explanations, label), torchserve, ours)


@pytest.mark.parametrize(("model", "label"), BATCHES)
def test_batched_request(
    model: str,
    label: str,
    serving: ServingSession,
    mar_runs: MarRunSession,
    our_builds: Builds,
) -> None:
    spec = MODELS[model]
    archive = archive_of(our_builds, model, "default")
    name = batch_registration(spec)
    torchserve = serving.served(spec).responses.get((name, label))
    ours = mar_runs.batch(archive, model_name=name)[label]
    _compare(spec, _probe(spec.batch, label), torchserve, ours)
