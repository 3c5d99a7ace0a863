"""Benchmark the pickle scanner against ``pickletools.genops`` on large ``data.pkl`` files.

Run: ``.venv/bin/python -m benchmarks.pickle_scan [--scale S] [--repeats N]``.
``run(scale, repeats)`` is what ``python -m benchmarks`` calls.

The scan reads a pickle's opcode stream, never the tensor storages, so its cost is per
opcode: the files are the ``data.pkl`` of a state dict of ``20,000 × scale`` tensors and of
a whole pickled model of ``2,000 × scale`` layers. The baseline walks the same opcodes with
the standard library's pure-Python ``pickletools.genops`` (decoding every argument, judging
nothing). Each command loads its file once and processes it :data:`TIMES` times, so
interpreter start-up does not dominate; the two commands run alternately.

Target (issue 11): the allowlist scan is not slower per byte than the denylist scan it
replaced, which took 3.3 to 4.2 times ``genops`` on the state dict (the scanner of commit
e53f47c, timed in one process next to ``genops`` on the same machine): at most 3.3 times
``genops``.

Also reported (issue 15): finding the local headers of a torch file in its inflated bytes,
the search ``mar validate`` runs over every byte of a DEFLATED weights file, with numpy's
word comparison against ``bytes.find`` (each command makes ``64 MiB × scale`` of seeded
random bytes once and searches them :data:`SEARCHES` times, in 1 MiB chunks).
"""

from __future__ import annotations

import argparse
import io
import os
import pickletools
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import Comparison, interleaved

TARGET_RATIO = 3.3
#: How many times each command processes its file (scaled), to keep start-up small.
TIMES = 8
#: How many times each header-search command searches its bytes.
SEARCHES = 32


def work_dir(scale: float) -> Path:
    base = Path(os.environ.get("MAR_BENCH_DIR", "/tmp/mar-bench-pickle"))
    return base / f"scale-{scale:g}"


def ensure_built(scale: float) -> dict[str, Path]:
    """The ``data.pkl`` files of *scale*, made once with torch."""
    out = work_dir(scale)
    files = {"state dict": out / "state_dict.pkl", "whole model": out / "model.pkl"}
    if all(path.exists() for path in files.values()):
        return files
    import torch

    out.mkdir(parents=True, exist_ok=True)
    tensors = max(int(20_000 * scale), 200)
    state = {f"layer{i}.weight": torch.zeros(2) for i in range(tensors)}
    layers = torch.nn.ModuleList(torch.nn.Linear(1, 1) for _ in range(max(int(2_000 * scale), 20)))
    for key, obj in (("state dict", state), ("whole model", layers)):
        buffer = io.BytesIO()
        torch.save(obj, buffer)
        data = zipfile.ZipFile(buffer).read("archive/data.pkl")
        files[key].write_bytes(data)
    return files


def run(scale: float = 1.0, repeats: int = 3) -> list[Comparison]:
    """Scanner vs genops on each file at *scale*, *repeats* runs each."""
    results = []
    for what, path in ensure_built(scale).items():
        size = f"{path.stat().st_size >> 10} KiB data.pkl"
        command = [sys.executable, "-m", "benchmarks.pickle_scan", "--file", str(path)]
        scan, genops = interleaved(
            ("mar's pickle scan", command),
            ("pickletools.genops", [*command, "--genops"]),
            repeats=repeats,
            notes={"file": size},
        )
        judged = what == "state dict" and scale >= 1  # smaller runs are start-up bound
        met = scan.median <= TARGET_RATIO * genops.median if judged else None
        results.append(
            Comparison(
                f"pickle scan of a {what}'s {size}: mar's scanner vs pickletools.genops",
                scan,
                genops,
                f"≤ {TARGET_RATIO}× genops" if met is not None else "reported",
                met,
            )
        )
    results.append(_header_search(scale, repeats))
    return results


def _header_search(scale: float, repeats: int) -> Comparison:
    size = max(int((64 << 20) * scale), 1 << 20)
    command = [sys.executable, "-m", "benchmarks.pickle_scan", "--search-bytes", str(size)]
    words, find = interleaved(
        ("numpy word comparison", [*command, "--search", "numpy"]),
        ("bytes.find", [*command, "--search", "find"]),
        repeats=repeats,
        notes={"searched": f"{size * SEARCHES >> 20} MiB"},
    )
    return Comparison(
        "local-header search in inflated weights: numpy word comparison vs bytes.find",
        words,
        find,
        "reported",
        None,
    )


def _search(size: int, how: str) -> None:
    import random

    from mar_tools.validate.pickle.signature_search import signature_positions

    data = random.Random(size).randbytes(size)
    chunks = [data[start : start + (1 << 20)] for start in range(0, size, 1 << 20)]
    found = 0
    for _ in range(SEARCHES):
        for chunk in chunks:
            found += len(signature_positions(chunk, b"PK\x03\x04", vectorised=how == "numpy"))
    print(found)


def _process(path: Path, genops: bool) -> None:
    from mar_tools.validate.pickle.ops import scan_pickles

    data = path.read_bytes()
    for _ in range(TIMES):
        if genops:
            for _ in pickletools.genops(data):
                pass
        else:
            scan = scan_pickles(io.BytesIO(data))
            if scan.error or scan.problems:
                raise SystemExit(f"unexpected scan result: {scan.error} {scan.problems}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pickle_scan")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--file", type=Path, help="(internal) process this file and exit")
    parser.add_argument("--genops", action="store_true", help="(internal) with --file")
    parser.add_argument("--search-bytes", type=int, help="(internal) search this many bytes")
    parser.add_argument("--search", choices=["numpy", "find"], help="(internal) how")
    args = parser.parse_args(argv)
    if args.search_bytes:
        _search(args.search_bytes, args.search)
        return 0
    if args.file:
        _process(args.file, args.genops)
        return 0
    started = time.perf_counter()
    for comparison in run(args.scale, args.repeats):
        print(
            f"{comparison.title}: {comparison.subject.median:.2f} s vs "
            f"{comparison.baseline.median:.2f} s = {comparison.ratio:.2f}× "
            f"(target {comparison.target}, met: {comparison.met})"
        )
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
