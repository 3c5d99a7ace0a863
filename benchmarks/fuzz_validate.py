"""The long "never crash" run of ``mar validate`` on mutated archives.

Run: ``.venv/bin/python -m benchmarks.fuzz_validate [--count 5000] [--seed 1]``.

Each iteration mutates one of the seed archives (see ``tests/validate/mutations.py``) and
validates it in this process (full or ``--quick`` at random); every ``--every``-th archive
is also checked by a real ``mar validate --format json`` process, which must exit 0 or 1
without a traceback. Any exception is a failure: the archive is kept under ``--keep`` and
the run exits 1. The summary counts archives per mutation, per verdict and per code.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from mar_tools.validate import ValidateOptions, validate_archive
from tests.validate.builders import make_torch_files
from tests.validate.mutations import make_seeds, mutate, seed_files

MAR = Path(sys.executable).parent / "mar"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fuzz loop; 0 when nothing crashed, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz_validate")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--every", type=int, default=250, help="subprocess check interval")
    parser.add_argument("--keep", type=Path, default=Path("/tmp/mar-fuzz-crashes"))
    args = parser.parse_args(argv)

    files = make_torch_files()
    seeds = make_seeds(
        seed_files(
            {"weights": files.state_dict, "scripted": files.scripted, "legacy": files.legacy,
             "evil": files.malicious}
        )
    )  # fmt: skip
    rng = random.Random(args.seed)
    mutations: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    crashes = processes = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mar-fuzz-") as scratch:
        for number in range(args.count):
            seed = rng.choice(seeds)
            mutation, data = mutate(seed, rng)
            mutations[mutation] += 1
            path = Path(scratch) / f"{number}-{seed.name}"
            path.write_bytes(data)
            try:
                result = validate_archive(path, ValidateOptions(quick=rng.random() < 0.3))
            except Exception:
                crashes += 1
                args.keep.mkdir(parents=True, exist_ok=True)
                (args.keep / path.name).write_bytes(data)
                print(f"CRASH #{number} ({mutation} of {seed.name}):", file=sys.stderr)
                traceback.print_exc()
                continue
            verdicts["invalid (exit 1)" if result.failed(False) else "valid (exit 0)"] += 1
            codes.update({item.code for item in result.findings})
            if number % args.every == 0:
                processes += 1
                done = subprocess.run(
                    [str(MAR), "validate", "--format", "json", str(path)],
                    capture_output=True, text=True, check=False,
                    env={**os.environ, "NO_COLOR": "1"},
                )  # fmt: skip
                if done.returncode not in (0, 1) or "Traceback" in done.stderr:
                    crashes += 1
                    print(f"PROCESS #{number} exited {done.returncode}:\n{done.stderr}")
            path.unlink()
    seconds = time.perf_counter() - started
    print(f"{args.count} mutated archives in {seconds:.1f} s (seed {args.seed}); "
          f"{processes} also run as `mar validate` processes; crashes: {crashes}")  # fmt: skip
    print("mutations:", dict(sorted(mutations.items())))
    print("verdicts:", dict(verdicts))
    print("archives per code:", dict(codes.most_common()))
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
