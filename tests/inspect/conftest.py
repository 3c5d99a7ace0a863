"""Fixtures for the inspect, diff, extract and repack tests: real torch files made once, and
one model archived in the four formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.inspect.models import FORMATS, Weights, build, make_weights, model_dir
from tests.support.upstream import UpstreamUnavailable, archiver_venv, venv_bin


@pytest.fixture(scope="session")
def weights() -> Weights:
    return make_weights()


@pytest.fixture(scope="session")
def shifted() -> Weights:
    """The same tensors, ``fc.weight[0, 0]`` larger by 0.25."""
    return make_weights(0.25)


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory, weights: Weights) -> Path:
    """A model's source files (a state dict)."""
    return model_dir(tmp_path_factory.mktemp("sources"), weights.state_dict)


@pytest.fixture(scope="session")
def archives(tmp_path_factory: pytest.TempPathFactory, sources: Path) -> dict[str, Path]:
    """The model of :func:`sources` in each format, by format name."""
    export = tmp_path_factory.mktemp("archives")
    return {fmt: build(sources, export / fmt, fmt) for fmt in FORMATS}


@pytest.fixture(scope="session")
def upstream_archiver() -> Path:
    try:
        return venv_bin(archiver_venv(), "torch-model-archiver")
    except UpstreamUnavailable as exc:  # no registry access: nothing to compare with
        pytest.skip(f"upstream torch-model-archiver unavailable: {exc}")
