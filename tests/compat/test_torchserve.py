"""The real TorchServe 0.12 loads and serves archives built by our archiver, in all four
formats, exactly as it serves the archive upstream's archiver builds from the same files.

Every answer is compared with the one TorchServe gives for upstream's default-format archive
of the same model (registered next to ours in the same server), after checking that the
reference took the path the probe aims at (its HTTP status).
"""

from __future__ import annotations

import json

import pytest

from tests.compat.answers import Answer, assert_same_answer
from tests.compat.archives import FORMATS, Builds, Format, archive_of
from tests.compat.catalog import PROBE, ModelSpec, all_models
from tests.compat.serving import ServingSession, batch_registration, upstream_registration

pytestmark = pytest.mark.compat

MODELS = {spec.name: spec for spec in all_models()}
LOADS = [pytest.param(name, fmt, id=f"{name}-{fmt}") for name in MODELS for fmt in FORMATS]
ANSWERS = [
    pytest.param(spec.name, fmt, probe.label, id=f"{spec.name}-{fmt}-{probe.label}")
    for spec in all_models()
    for fmt in FORMATS
    if fmt not in spec.refused
    for probe in (*spec.singles, *spec.explanations)
]


def _probe(spec: ModelSpec, label: str) -> tuple[int, str]:
    for probe in (*spec.singles, *spec.explanations, *spec.batch):
        if probe.label == label:
            return probe.status, probe.request.path(spec.name)
    raise KeyError(label)


@pytest.mark.parametrize("model", list(MODELS))
def test_upstream_archive_loads(model: str, serving: ServingSession) -> None:
    served = serving.served(MODELS[model])
    response = served.registrations.get(upstream_registration(MODELS[model]))
    assert response is not None, "upstream's build failed (see test_archiver)"
    assert response.status == 200, f"{response.body!r}\n{serving.server.logs()}"


@pytest.mark.parametrize(("model", "fmt"), LOADS)
def test_our_archive_loads(
    model: str, fmt: Format, serving: ServingSession, our_builds: Builds
) -> None:
    spec = MODELS[model]
    archive = archive_of(our_builds, model, fmt)
    served = serving.served(spec)
    response = served.registrations[archive.model_name]
    if fmt not in spec.refused:
        assert response.status == 200, f"{response.body!r}\n{serving.server.logs()}"
        return
    # TorchServe cannot load this model from this format, whoever built it.
    reference = served.registrations.get(upstream_registration(spec, fmt))
    assert reference is not None, "upstream's build failed (see test_archiver)"
    assert (response.status, reference.status) != (200, 200), spec.refused[fmt]
    assert response.status == reference.status, (response.body, reference.body)


@pytest.mark.parametrize(("model", "fmt", "label"), ANSWERS)
def test_answers_like_upstream_archive(
    model: str, fmt: Format, label: str, serving: ServingSession, our_builds: Builds
) -> None:
    spec = MODELS[model]
    archive = archive_of(our_builds, model, fmt)
    served = serving.served(spec)
    reference = served.responses.get((upstream_registration(spec), label))
    assert reference is not None, "upstream's archive did not load"
    status, path = _probe(spec, label)
    assert reference.status == status, f"{path}: {reference.body!r}"
    ours = served.responses.get((archive.model_name, label))
    assert ours is not None, f"our {fmt} archive did not load"
    assert_same_answer(Answer.from_http(ours), Answer.from_http(reference), what=path)


def test_batch_probes_arrive_as_one_batch(serving: ServingSession) -> None:
    served = serving.served(PROBE)
    name = batch_registration(PROBE)
    assert served.loaded(name), served.registrations.get(name)
    sizes = [json.loads(served.responses[(name, p.label)].body)["batch"] for p in PROBE.batch]
    assert sizes == [len(PROBE.batch)] * len(PROBE.batch)
