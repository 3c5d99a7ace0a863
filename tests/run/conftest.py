"""Fixtures of the ``mar run`` tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.upstream import UpstreamUnavailable, torchserve_venv, venv_bin


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A private extraction cache (``MAR_CACHE_DIR``) for one test."""
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def upstream_python() -> Path:
    """The interpreter of the venv holding upstream ``torchserve==0.12.0``."""
    try:
        return venv_bin(torchserve_venv(), "python")
    except UpstreamUnavailable as exc:  # pragma: no cover - needs the package index
        pytest.skip(f"upstream TorchServe venv unavailable: {exc}")


@pytest.fixture(scope="session")
def upstream_metrics_config(upstream_python: Path) -> Path:
    """TorchServe's own default ``metrics.yaml`` (its ``metrics_config`` default)."""
    lib = upstream_python.parent.parent / "lib"
    found = sorted(lib.glob("python3*/site-packages/ts/configs/metrics.yaml"))
    assert found, f"no ts/configs/metrics.yaml under {lib}"
    return found[0]
