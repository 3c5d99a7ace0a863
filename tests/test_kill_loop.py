"""50 ``kill -9`` at random moments: 25 archiver builds and 25 ``mar run`` extractions leave
old or whole outputs, never a part, and no temporary once the next command has run (see
:mod:`tests.kill_loops`; longer runs: ``benchmarks/kill_loop.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kill_loops import archiver_loop, extraction_loop

#: Commands each loop kills (50 in all), and the most runs it may take to do so.
KILLS = 25
RUNS = 100


@pytest.mark.slow
def test_killed_archiver_builds_leave_old_or_whole_outputs_and_no_leftovers(
    tmp_path: Path,
) -> None:
    result = archiver_loop(tmp_path, KILLS, RUNS)
    assert result.kills == KILLS, result


@pytest.mark.slow
def test_killed_extractions_leave_whole_extractions_and_no_leftovers(tmp_path: Path) -> None:
    result = extraction_loop(tmp_path, KILLS, RUNS)
    assert result.kills == KILLS, result
