"""``mar validate`` agrees with TorchServe 0.12 on which archives are loadable.

Every archive upstream's archiver builds (all models, all formats) passes; so does every
archive ours builds. Each hand-broken archive is first registered in the real TorchServe,
which must refuse it, and then ``mar validate`` must refuse it too. The control archive they
are derived from loads and validates, so each refusal is due to the one thing broken in it.
Each set of archives is validated by one ``mar validate --format json`` process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.compat.archives import FORMATS, Archive, Builds, Format, archive_of
from tests.compat.broken import CASES, CONTROL, BrokenArchive
from tests.compat.catalog import all_models
from tests.compat.commands import Validation, validate
from tests.support.http_client import HttpResponse

pytestmark = pytest.mark.compat

BUILDS = [
    pytest.param(spec.name, fmt, id=f"{spec.name}-{fmt}")
    for spec in all_models()
    for fmt in FORMATS
]
Registrations = dict[str, tuple[Path, HttpResponse]]


def _built(builds: Builds) -> list[Path]:
    return [result.path for result in builds.values() if isinstance(result, Archive)]


@pytest.fixture(scope="module")
def upstream_validation(upstream_builds: Builds, mar_env: dict[str, str]) -> Validation:
    return validate(_built(upstream_builds), mar_env)


@pytest.fixture(scope="module")
def our_validation(our_builds: Builds, mar_env: dict[str, str]) -> Validation:
    return validate(_built(our_builds), mar_env)


@pytest.fixture(scope="module")
def broken_validation(broken_registrations: Registrations, mar_env: dict[str, str]) -> Validation:
    return validate([path for path, _ in broken_registrations.values()], mar_env)


def _findings(verdict: Mapping[str, object]) -> str:
    return json.dumps(verdict.get("findings"), indent=2)


@pytest.mark.parametrize(("model", "fmt"), BUILDS)
def test_passes_upstream_build(
    model: str, fmt: Format, upstream_builds: Builds, upstream_validation: Validation
) -> None:
    verdict = upstream_validation.verdict(archive_of(upstream_builds, model, fmt).path)
    assert verdict["valid"] is True, _findings(verdict)


@pytest.mark.parametrize(("model", "fmt"), BUILDS)
def test_passes_our_build(
    model: str, fmt: Format, our_builds: Builds, our_validation: Validation
) -> None:
    verdict = our_validation.verdict(archive_of(our_builds, model, fmt).path)
    assert verdict["valid"] is True, _findings(verdict)


def test_exit_codes(
    upstream_validation: Validation, our_validation: Validation, broken_validation: Validation
) -> None:
    assert upstream_validation.exit_code == 0, upstream_validation.transcript
    assert our_validation.exit_code == 0, our_validation.transcript
    assert broken_validation.exit_code == 1, broken_validation.transcript


def test_control_loads_and_passes(
    broken_registrations: Registrations, broken_validation: Validation
) -> None:
    path, response = broken_registrations[CONTROL.name]
    assert response.status == 200, response.body
    verdict = broken_validation.verdict(path)
    assert verdict["valid"] is True, _findings(verdict)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_refused_by_torchserve_and_by_validate(
    case: BrokenArchive, broken_registrations: Registrations, broken_validation: Validation
) -> None:
    path, response = broken_registrations[case.name]
    assert response.status != 200, f"TorchServe loaded {case.name} ({case.why})"
    verdict = broken_validation.verdict(path)
    assert verdict["valid"] is False, f"mar validate passed it: {case.why}"
    assert verdict["errors"] >= 1, _findings(verdict)
