"""Never crash: mutated archives always give a result (exit 0 or 1), never a traceback.

A seeded short run of the mutations in :mod:`tests.validate.mutations`, then (``slow``)
5,000 mutated archives, zip and tar.gz, through ``mar validate`` *and* ``mar run``'s
extraction (:mod:`tests.validate.fuzz_cases`: no traceback, no hang, nothing written outside
the cache, and the two agree on what is fatal; the long runs are
``benchmarks/fuzz_validate.py``), a few real ``mar validate`` processes on mutated files,
and hypothesis properties of the parsers that read untrusted bytes.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mar_tools.core.archive import name_problems
from mar_tools.core.python_source import parse_source
from mar_tools.core.yaml_document import parse_yaml
from mar_tools.validate import CODES, ValidateOptions, validate_archive
from mar_tools.validate.pickle.ops import scan_pickles
from tests.validate.builders import TorchFiles
from tests.validate.fuzz_cases import Tally, run_cases
from tests.validate.mutations import Seed, make_seeds, mutate, seed_files

SHORT_RUN = 400
#: The slow run: cases, and the worker processes they are shared by (CI has two cores).
CASES = 5000
WORKERS = 2


@pytest.fixture(scope="module")
def seeds(torch_files: TorchFiles) -> list[Seed]:
    return make_seeds(
        seed_files(
            {
                "weights": torch_files.state_dict,
                "scripted": torch_files.scripted,
                "legacy": torch_files.legacy,
                "evil": torch_files.malicious,
            }
        )
    )


def test_seeds_themselves_only_report_the_planted_pickle(seeds: list[Seed], tmp_path: Path) -> None:
    for seed in seeds:
        path = tmp_path / seed.name
        path.write_bytes(seed.data)
        found = {item.code for item in validate_archive(path).findings}
        assert found == {"pickle.dangerous-global"}, seed.name


def test_mutated_archives_never_crash(seeds: list[Seed], tmp_path: Path) -> None:
    rng = random.Random(20261125)
    with_findings = 0
    for number in range(SHORT_RUN):
        seed = rng.choice(seeds)
        mutation, data = mutate(seed, rng)
        path = tmp_path / f"{number}-{seed.name}"
        path.write_bytes(data)
        result = validate_archive(path, ValidateOptions(quick=rng.random() < 0.3))
        assert result.format in ("zip", "tgz", None), (number, mutation)
        assert all(item.code in CODES and item.message for item in result.findings)
        with_findings += bool(result.findings)
        path.unlink()
    assert with_findings > SHORT_RUN * 0.9  # the planted pickle alone gives one


def _chunk(numbers: Sequence[int], seeds: Sequence[Seed]) -> Tally:
    return run_cases(numbers, seeds)


@pytest.mark.slow
def test_mutated_archives_through_validate_and_extraction(seeds: list[Seed]) -> None:
    chunks = [range(start, CASES, WORKERS) for start in range(WORKERS)]
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        tallies = pool.starmap(_chunk, [(chunk, seeds) for chunk in chunks])
    total = Tally()
    for tally in tallies:
        total.add(tally)
    assert total.failures == [], "\n".join(
        f"case {f.number} ({f.mutation} of {f.seed}): {f.what}" for f in total.failures[:10]
    )
    assert total.cases == total.validated == CASES
    assert total.extracted + total.refused == CASES
    # Both outcomes are well represented, and every mutation (zip and tar.gz) was tried.
    assert total.extracted > CASES // 10 and total.refused > CASES // 10
    assert {"edit_tar", "edit_header", "rename", "splice", "truncate"} <= set(total.mutations)


def test_real_processes_on_mutated_archives(seeds: list[Seed], tmp_path: Path) -> None:
    rng = random.Random(7)
    mar = Path(sys.executable).parent / "mar"
    for number in range(4):
        seed = seeds[number % len(seeds)]
        _, data = mutate(seed, rng)
        path = tmp_path / f"{number}-{seed.name}"
        path.write_bytes(data)
        done = subprocess.run(
            [str(mar), "validate", "--format", "json", str(path)],
            capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, check=False,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        assert "Traceback" not in done.stderr
        assert '"findings"' in done.stdout


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_pickle_reader_never_raises(data: bytes) -> None:
    scan_pickles(io.BytesIO(data))
    scan_pickles(io.BytesIO(b"\x80\x04" + data))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_yaml_and_name_parsers_never_raise(text: str) -> None:
    parse_yaml(text)
    name_problems(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_python_parser_never_raises(data: bytes) -> None:
    parse_source("x.py", data)
