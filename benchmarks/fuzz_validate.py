"""The long "never crash" run: mutated archives through ``mar validate`` and ``mar run``'s
extraction (the cases of :mod:`tests.validate.fuzz_cases`).

Run: ``.venv/bin/python -m benchmarks.fuzz_validate [--count 20000] [--first 0] [--jobs 2]``.

Each case mutates one of the seed archives (zip deflated and stored, tar.gz) with a
generator seeded by its number, validates it (full, or ``--quick`` for one in five) and
extracts it through the extraction cache; nothing may raise, hang, write outside the cache
or leave a temporary, and the extraction must refuse exactly what a full validation calls
fatal. Every ``--every``-th archive is also checked by a real ``mar validate --format json``
process, which must exit 0 or 1 without a traceback. Exit status 1 when anything failed; the
summary counts cases per mutation, outcome and code.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.validate.builders import make_torch_files
from tests.validate.fuzz_cases import Tally, run_cases
from tests.validate.mutations import Seed, make_seeds, mutate, seed_files

MAR = Path(sys.executable).parent / "mar"


def _seeds() -> list[Seed]:
    files = make_torch_files()
    return make_seeds(
        seed_files(
            {"weights": files.state_dict, "scripted": files.scripted, "legacy": files.legacy,
             "evil": files.malicious}
        )
    )  # fmt: skip


def _processes(numbers: Sequence[int], seeds: Sequence[Seed]) -> list[str]:
    """Real ``mar validate`` processes on the mutated archives of *numbers*."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="mar-fuzz-proc-") as scratch:
        for number in numbers:
            rng = random.Random(number)
            seed = rng.choice(seeds)
            _, data = mutate(seed, rng)
            path = Path(scratch) / f"{number}-{seed.name}"
            path.write_bytes(data)
            done = subprocess.run(
                [str(MAR), "validate", "--format", "json", str(path)],
                capture_output=True, text=True, check=False,
                env={**os.environ, "NO_COLOR": "1"},
            )  # fmt: skip
            if done.returncode not in (0, 1) or "Traceback" in done.stderr:
                problems.append(f"process #{number} exited {done.returncode}:\n{done.stderr}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases; 0 when nothing failed, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz_validate")
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--first", type=int, default=0, help="number of the first case")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--every", type=int, default=500, help="subprocess check interval")
    args = parser.parse_args(argv)

    seeds = _seeds()
    numbers = range(args.first, args.first + args.count)
    started = time.perf_counter()
    chunks = [numbers[start :: args.jobs] for start in range(args.jobs)]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        tallies = pool.starmap(run_cases, [(chunk, seeds) for chunk in chunks])
    total = Tally()
    for tally in tallies:
        total.add(tally)
    processes = list(numbers[:: args.every])
    problems = _processes(processes, seeds)
    seconds = time.perf_counter() - started
    print(
        f"{total.cases} mutated archives in {seconds:.1f} s (cases {args.first}.."
        f"{args.first + args.count - 1}, {args.jobs} jobs): validated {total.validated}, "
        f"extracted {total.extracted}, refused {total.refused}; "
        f"{len(processes)} also run as `mar validate` processes"
    )
    print("mutations:", dict(sorted(total.mutations.items())))
    print("archives per code:", dict(total.codes.most_common()))
    for failure in total.failures[:20]:
        print(f"FAIL case {failure.number} ({failure.mutation} of {failure.seed}): {failure.what}")
    for problem in problems:
        print("FAIL", problem)
    failed = len(total.failures) + len(problems)
    print(f"failures: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
