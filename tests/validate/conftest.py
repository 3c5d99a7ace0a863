"""Fixtures for the validator's tests: real torch files made once per session."""

from __future__ import annotations

import pytest

from tests.validate.builders import TorchFiles, make_torch_files
from tests.validate.pickle_legit import Legit, make_legit


@pytest.fixture(scope="session")
def torch_files() -> TorchFiles:
    return make_torch_files()


@pytest.fixture(scope="session")
def weights(torch_files: TorchFiles) -> bytes:
    return torch_files.state_dict


@pytest.fixture(scope="session")
def legit() -> list[Legit]:
    return make_legit()
