"""The one benchmark entry point: ``python -m benchmarks [--quick]``.

Runs every area's comparisons one after another in this process tree (never in parallel:
they would distort each other), then writes the report. Each area is a module
``benchmarks/<area>.py`` exposing ``run(scale: float, repeats: int) -> list[Comparison]``;
modules are imported only when their turn comes, and a missing one is reported as "not
available" instead of stopping the others.

* full (default): the sizes the issues name, 3 runs each; writes ``benchmarks/RESULTS.md``.
* ``--quick``: sizes scaled by 1/64, 2 runs each; prints the report (CI runs this as a smoke
  test of the benchmarks; its numbers are not asserted on).

Exit status: 0 when every available area ran; 1 when an area failed (or, with
``--require-all``, was not available); 2 for a wrong flag.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.harness import Comparison, compile_project, format_seconds, markdown_table
from benchmarks.report import AreaResult, RunInfo, render

#: (key, section title, module), in the order they run.
AREAS: tuple[tuple[str, str, str], ...] = (
    (
        "startup",
        "Start-up: mar and torch-model-archiver vs a bare interpreter",
        "benchmarks.startup",
    ),
    ("archiver", "Archiving: ours vs upstream torch-model-archiver 0.12", "benchmarks.archiver"),
    ("validate", "Validation: mar validate vs unzip -t", "benchmarks.validate"),
    ("pickle", "Pickle scan: mar's scanner vs pickletools.genops", "benchmarks.pickle_scan"),
    ("run", "Running: mar run vs a hand-written script", "benchmarks.run"),
    ("env", "Per-model environments: cached venvs vs none", "benchmarks.env"),
    (
        "inspect",
        "Inspecting, comparing, repacking: mar inspect / diff / repack vs zipinfo, cat, cp",
        "benchmarks.inspect",
    ),
    (
        "torchserve",
        "Launch to first prediction: mar run vs TorchServe 0.12",
        "benchmarks.torchserve",
    ),
    ("serve", "Serving: mar serve vs TorchServe 0.12", "benchmarks.serve"),
    ("ray", "Scaling out: mar serve --engine ray, 2 replicas vs 1", "benchmarks.ray_scale"),
)
QUICK_SCALE = 1 / 64
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run every benchmark and write the report."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 runs (CI smoke test)")
    parser.add_argument("--scale", type=float, help="size factor (default 1, or 1/64 with --quick)")
    parser.add_argument(
        "--repeats", type=int, help="runs per command (default 3, or 2 with --quick)"
    )
    parser.add_argument(
        "--only", action="append", choices=[key for key, _, _ in AREAS], help="run only this area"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="write the report here (default: benchmarks/RESULTS.md for a full run; "
        "a quick run only prints it)",
    )
    parser.add_argument(
        "--require-all", action="store_true", help="fail when an area's module is missing"
    )
    return parser.parse_args(argv)


def run_area(key: str, title: str, module_name: str, scale: float, repeats: int) -> AreaResult:
    """Import and run one area, turning every failure into a result (never raising)."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return AreaResult(
            key, title, module_name, "not available", detail=f"`{module_name}` does not exist yet."
        )
    run = getattr(module, "run", None)
    if run is None:
        return AreaResult(
            key, title, module_name, "not available", detail=f"`{module_name}` has no `run()`."
        )
    try:
        comparisons: list[Comparison] = list(run(scale, repeats))
    except Exception:
        return AreaResult(
            key,
            title,
            module_name,
            "failed",
            detail=traceback.format_exc(),
            seconds=time.perf_counter() - started,
        )
    return AreaResult(
        key, title, module_name, "ok", tuple(comparisons), seconds=time.perf_counter() - started
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 3)
    output = args.output if args.output is not None else (None if args.quick else RESULTS)
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    clock = time.perf_counter()
    compile_project()  # bytecode, as an installation has it (see compile_project)
    results = []
    for key, title, module in AREAS:
        if args.only and key not in args.only:
            continue
        print(
            f"[benchmarks] {key}: running (scale {scale:g}, {repeats} runs)...",
            file=sys.stderr,
            flush=True,
        )
        try:
            result = run_area(key, title, module, scale, repeats)
        except Exception:
            result = AreaResult(key, title, module, "failed", detail=traceback.format_exc())
        print(
            f"[benchmarks] {key}: {result.status} in {format_seconds(result.seconds)}",
            file=sys.stderr,
            flush=True,
        )
        if result.comparisons:
            print(markdown_table(result.comparisons), file=sys.stderr, flush=True)
        results.append(result)
    command = shlex.join(
        [".venv/bin/python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)]
    )
    report = render(RunInfo(command, scale, repeats, started, time.perf_counter() - clock), results)
    if output is None:
        print(report)
    else:
        output.write_text(report)
        print(f"[benchmarks] wrote {output}", file=sys.stderr)
    failed = [r.key for r in results if r.status == "failed"]
    missing = [r.key for r in results if r.status == "not available"]
    if failed or (args.require_all and missing):
        print(f"[benchmarks] failed: {failed}; not available: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
