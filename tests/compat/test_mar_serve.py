"""``mar serve`` answers every request exactly as the real TorchServe 0.12 does.

Both servers get the same model store and the same registrations (each of our archive
formats, a batching registration, upstream's archives) and the same requests. Status,
content type, handler-set headers and body must be equal. Batched requests are sent
together to a registration whose batch size is their number: the probe model reports the
batch it was called with, so equal bodies prove one handler call per batch in both servers.
"""

from __future__ import annotations

import pytest

from tests.compat.answers import Answer, assert_same_answer
from tests.compat.archives import FORMATS, Builds, Format, archive_name, archive_of
from tests.compat.catalog import PROBE, all_models
from tests.compat.model_spec import ModelSpec, Probe
from tests.compat.serving import ServingSession, batch_registration, upstream_registration
from tests.support.http_client import HttpResponse

pytestmark = pytest.mark.compat

MODELS = {spec.name: spec for spec in all_models()}
SINGLES = [
    pytest.param(spec.name, fmt, probe.label, id=f"{spec.name}-{fmt}-{probe.label}")
    for spec in all_models()
    for fmt in FORMATS
    if fmt not in spec.refused
    for probe in (*spec.singles, *spec.explanations)
]
BATCHES = [
    pytest.param(spec.name, probe.label, id=f"{spec.name}-{probe.label}")
    for spec in all_models()
    for probe in spec.batch
]


def _probe(spec: ModelSpec, label: str) -> Probe:
    return next(p for p in (*spec.singles, *spec.explanations, *spec.batch) if p.label == label)


def _compare(
    spec: ModelSpec, label: str, theirs: HttpResponse | None, ours: HttpResponse | None
) -> None:
    probe = _probe(spec, label)
    assert theirs is not None, f"TorchServe did not load {spec.name} (see test_torchserve)"
    assert ours is not None, f"mar serve did not load {spec.name}"
    assert theirs.status == probe.status, f"TorchServe: {theirs.body!r}"
    assert_same_answer(
        Answer.from_http(ours), Answer.from_http(theirs), what=probe.request.path(spec.name)
    )


@pytest.mark.parametrize(("model", "fmt", "label"), SINGLES)
def test_single_request(
    model: str,
    fmt: Format,
    label: str,
    serving: ServingSession,
    mar_serving: ServingSession,
    our_builds: Builds,
) -> None:
    spec = MODELS[model]
    name = archive_of(our_builds, model, fmt).model_name
    theirs = serving.served(spec).responses.get((name, label))
    ours = mar_serving.served(spec).responses.get((name, label))
    _compare(spec, label, theirs, ours)


@pytest.mark.parametrize(("model", "label"), BATCHES)
def test_batched_request(
    model: str, label: str, serving: ServingSession, mar_serving: ServingSession
) -> None:
    spec = MODELS[model]
    name = batch_registration(spec)
    theirs = serving.served(spec).responses.get((name, label))
    ours = mar_serving.served(spec).responses.get((name, label))
    _compare(spec, label, theirs, ours)


def test_one_handler_call_per_batch(mar_serving: ServingSession) -> None:
    """The probe saw the whole batch in one call: every answer reports the batch's size."""
    responses = mar_serving.served(PROBE).responses
    seen = [responses[(batch_registration(PROBE), p.label)].json()["batch"] for p in PROBE.batch]
    assert seen == [len(PROBE.batch)] * len(PROBE.batch)


@pytest.mark.parametrize("model", [spec.name for spec in all_models()])
def test_registration_answers(
    model: str, serving: ServingSession, mar_serving: ServingSession
) -> None:
    """Registering the same archives answers with the same status and body.

    Except where TorchServe refuses a format for a reason of its own (``spec.refused``: it
    runs pip for a directory model in the wrong directory); mar serve registers those.
    """
    spec = MODELS[model]
    theirs = serving.served(spec).registrations
    ours = mar_serving.served(spec).registrations
    assert sorted(ours) == sorted(theirs)
    refused = {archive_name(spec, fmt) for fmt in spec.refused}
    refused |= {upstream_registration(spec, fmt) for fmt in spec.refused}
    for name, response in theirs.items():
        mine = ours[name]
        if name in refused:
            assert response.status == 400 and mine.status == 200, name
            continue
        assert (mine.status, mine.body) == (response.status, response.body), name
