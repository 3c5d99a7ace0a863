"""The long ``kill -9`` loops over archiver builds and ``mar run`` extractions
(:mod:`tests.kill_loops`; CI runs 25 kills of each in ``tests/test_kill_loop.py``).

Run: ``.venv/bin/python -m benchmarks.kill_loop [--kills 200]``. Exit status 1 when an
invariant broke (the loops assert them): a partial output, or a temporary left once the
next command had run.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.kill_loops import archiver_loop, extraction_loop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kill_loop")
    parser.add_argument("--kills", type=int, default=200, help="kills per loop")
    args = parser.parse_args(argv)
    for name, loop in (
        ("archiver builds", archiver_loop),
        ("mar run extractions", extraction_loop),
    ):
        with tempfile.TemporaryDirectory(prefix="mar-kill-loop-") as scratch:
            result = loop(Path(scratch), args.kills, args.kills * 4)
        print(
            f"{name}: {result.kills} killed in {result.runs} runs, {result.seconds:.1f} s; "
            "no partial output, no temporary left"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
