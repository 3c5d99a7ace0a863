"""picklescan and fickling on both corpora, next to ``mar validate``: our verdicts are the
expected ones, the comparison in docs/security.md is current, and every disagreement of
another tool is explained there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.validate.pickle_table import DOC, END, Verdicts, collect, generated_block, render
from tests.validate.pickle_table import versions as tool_versions

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> list[Verdicts]:
    return collect(tmp_path_factory.mktemp("crosscheck"))


def test_our_verdicts_are_the_expected_ones(verdicts: list[Verdicts]) -> None:
    wrong = [row.name for row in verdicts if row.ours != row.expected]
    assert wrong == []
    assert sum(row.malicious for row in verdicts) >= 60
    assert sum(not row.malicious for row in verdicts) >= 30


def test_the_documented_comparison_is_current(verdicts: list[Verdicts]) -> None:
    documented = generated_block(DOC.read_text())
    if tool_versions() not in documented:
        pytest.skip(f"the table was made with other versions than {tool_versions()}")
    assert documented == render(verdicts), "run: python -m tests.validate.pickle_table --write"


def test_every_disagreement_is_explained(verdicts: list[Verdicts]) -> None:
    explanations = DOC.read_text().split(END, 1)[1]
    explained = set(re.findall(r"`([\w.-]+)`", explanations))
    missing = [row.name for row in verdicts if row.disagrees() and row.name not in explained]
    assert missing == []


def test_the_tools_really_disagree_somewhere(verdicts: list[Verdicts]) -> None:
    # The comparison would be empty if a tool had failed to run: each misses or refuses
    # something that the expected verdict does not.
    assert any(row.malicious and not row.picklescan for row in verdicts)
    assert any(not row.malicious and row.fickling for row in verdicts)
    assert Path(DOC).exists()
