"""The "every bad input tried" run: mutated archives through ``mar validate`` and through
``mar run``'s extraction, in the same pass.

Each case mutates one of the seed archives (:mod:`tests.validate.mutations`: zip, deflated
and stored, and tar.gz) with a random generator seeded by the case number, so any case can
be replayed alone. For each mutated archive:

* ``mar validate`` (full, or ``--quick`` for one case in five) must give a result;
* the extraction cache ``mar run`` uses (:func:`~mar_tools.core.extraction.prepare_model_dir`)
  must extract it or refuse it with an :class:`~mar_tools.core.errors.ArchiveError`, and
  leave nothing outside the cache, no temporary in it, and no published directory when it
  refused;
* both agree on what is fatal: the extraction refuses exactly the archives a full
  validation gives an error in the container, names, structure, entry bytes or limits;
* neither may take longer than :data:`CASE_SECONDS` (a timer interrupts a hang).

Any exception, disagreement or hang is a :class:`Failure`. Used by
``tests/validate/test_fuzz.py`` (in CI) and ``benchmarks/fuzz_validate.py`` (the long runs).
"""

from __future__ import annotations

import random
import shutil
import signal
import tempfile
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mar_tools.core.archive.structure import STRUCTURAL_CODES
from mar_tools.core.errors import ArchiveError
from mar_tools.core.extraction import prepare_model_dir
from mar_tools.report.finding import Severity
from mar_tools.validate import ValidateOptions, validate_archive
from tests.run.support import published as extracted
from tests.validate.mutations import Seed, mutate

#: The most one case may take (validation and extraction each); a hang is a failure.
CASE_SECONDS = 20
#: The error codes that mean "this archive cannot be extracted safely".
FATAL_CODES = frozenset(
    {code for code, fatal in STRUCTURAL_CODES.items() if fatal}
    | {"archive.unreadable", "entry.corrupt", "entry.crc-mismatch"}
)


@dataclass(frozen=True)
class Failure:
    """A case that crashed, hung, disagreed or left something behind."""

    number: int
    mutation: str
    seed: str
    what: str


@dataclass
class Tally:
    """What a run of cases did."""

    cases: int = 0
    validated: int = 0
    extracted: int = 0
    refused: int = 0
    mutations: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.cases += other.cases
        self.validated += other.validated
        self.extracted += other.extracted
        self.refused += other.refused
        self.mutations.update(other.mutations)
        self.codes.update(other.codes)
        self.failures.extend(other.failures)


class Hang(Exception):
    """A case ran past :data:`CASE_SECONDS`."""


@contextmanager
def _time_bound(seconds: float) -> Iterator[None]:
    def expire(_signum: int, _frame: object) -> None:
        raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _outside_the_cache(case: Path, archive: Path, cache: Path) -> list[str]:
    """What exists in *case* besides the archive and the cache, and what the cache holds
    that it must not (temporaries, links)."""
    problems = []
    for path in case.rglob("*"):
        if path in (archive, cache):
            continue
        if not path.is_relative_to(cache):
            problems.append(f"written outside the cache: {path}")
        elif path.is_symlink():
            problems.append(f"a link in the cache: {path}")
        elif path.name.endswith(".partial"):
            problems.append(f"a temporary left in the cache: {path}")
    return problems


def run_case(number: int, seeds: Sequence[Seed], scratch: Path, tally: Tally) -> None:
    """Mutate, validate and extract case *number* (see the module docstring)."""
    rng = random.Random(number)
    seed = rng.choice(seeds)
    mutation, data = mutate(seed, rng)
    quick = rng.random() < 0.2
    tally.cases += 1
    tally.mutations[mutation] += 1
    case = scratch / f"case-{number}"
    case.mkdir()
    archive = case / seed.name
    archive.write_bytes(data)
    cache = case / "cache"

    def fail(what: str) -> None:
        tally.failures.append(Failure(number, mutation, seed.name, what))

    try:
        try:
            with _time_bound(CASE_SECONDS):
                result = validate_archive(archive, ValidateOptions(quick=quick))
        except Exception as exc:
            fail(f"validate: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            return
        tally.validated += 1
        errors = {f.code for f in result.findings if f.severity is Severity.ERROR}
        tally.codes.update({f.code for f in result.findings})
        refusal: str | None = None
        try:
            with _time_bound(CASE_SECONDS):
                prepare_model_dir(archive, cache)
            tally.extracted += 1
        except ArchiveError as exc:
            refusal = exc.message
            tally.refused += 1
        except Exception as exc:
            fail(f"extract: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            return
        for problem in _outside_the_cache(case, archive, cache):
            fail(problem)
        published = extracted(cache / "v2")
        if refusal is not None and published:
            fail(f"refused ({refusal}) yet published {published}")
        fatal = errors & FATAL_CODES
        if not quick and bool(fatal) != (refusal is not None):
            fail(f"disagree: validate's fatal errors {sorted(fatal)}, extraction: {refusal}")
    finally:
        shutil.rmtree(case, ignore_errors=True)


def run_cases(numbers: Sequence[int], seeds: Sequence[Seed]) -> Tally:
    """Run the cases *numbers* in a scratch directory of their own; return the tally."""
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="mar-fuzz-") as scratch:
        for number in numbers:
            run_case(number, seeds, Path(scratch), tally)
    return tally
