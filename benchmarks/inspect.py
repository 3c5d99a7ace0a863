"""Benchmark ``mar inspect``, ``mar diff`` and ``mar repack`` on 1 GiB archives.

Run: ``.venv/bin/python -m benchmarks.inspect [--scale S] [--repeats N]``; ``run(scale,
repeats)`` is what ``python -m benchmarks`` calls (area ``inspect``).

Archives (built once per scale under ``$MAR_BENCH_DIR``, default ``/tmp/mar-bench-inspect``,
by our archiver in a child process, so this process never imports torch): a model whose
``weights.pt`` is a real ``torch.save`` state dict of ``1 GiB × scale`` of float32 N(0, 1)
values (deflate saves ~7%, so the ``default`` format deflates it: the realistic case), as
``a.mar``; the same with a different handler (one small entry differs) as ``b.mar`` and as a
directory; ``a.mar`` as ``.tar.gz``; and a model of ``1 GiB × scale`` of incompressible
bytes (``default`` stores them) for the repack target. The page cache is warmed before
every timed run.

Targets (issue 13): ``inspect`` ≤ 0.3 s wall on 1 GiB; ``diff`` of two 1 GiB archives that
differ in one small entry ≤ 1.2× reading both once (``cat a b > /dev/null``); ``repack
default → zip-store`` of 1 GiB ≤ 2× ``cp``. Each subject and its baseline run alternately
(one untimed round first), so that load from other processes falls on both alike.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import Comparison, Measurement, interleaved, markdown_table, warm

GiB = 1 << 30
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
MAR = BIN / "mar"
ARCHIVER = BIN / "torch-model-archiver"
HANDLER = "def handle(data, context):\n    return data\n"


def work_dir(scale: float) -> Path:
    base = Path(os.environ.get("MAR_BENCH_DIR", "/tmp/mar-bench-inspect"))
    return base / f"scale-{scale:g}"


def paths(scale: float) -> dict[str, Path]:
    root = work_dir(scale)
    return {
        "a": root / "a" / "m.mar",
        "b": root / "b" / "m.mar",
        "b-dir": root / "b-dir" / "m",
        "tgz": root / "tgz" / "m.tar.gz",
        "random": root / "random" / "r.mar",
    }


def ensure_built(scale: float) -> dict[str, Path]:
    """The archives of *scale*, built on first use by a child process."""
    found = paths(scale)
    if not all(path.exists() for path in found.values()):
        command = [
            sys.executable,
            "-m",
            "benchmarks.inspect",
            "--build-only",
            "--scale",
            str(scale),
        ]
        subprocess.run(command, check=True, cwd=HERE.parent)
    return found


def build(scale: float) -> None:
    """Build the archives of *scale* (imports torch and numpy)."""
    import numpy as np
    import torch

    root = work_dir(scale)
    shutil.rmtree(root, ignore_errors=True)
    source = root / "src"
    source.mkdir(parents=True)
    size = max(int(GiB * scale), 1 << 20)
    values = np.random.default_rng(0).standard_normal(size // 4, dtype=np.float32)
    torch.save({"weight": torch.from_numpy(values)}, source / "weights.pt")
    del values
    (source / "handler.py").write_text(HANDLER)
    (source / "random.bin").write_bytes(os.urandom(size))
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}

    def archive(out: str, fmt: str, *extra: str, name: str = "m") -> None:
        argv = [str(ARCHIVER), "--model-name", name, "--handler", "handler.py", "-v", "1.0",
                "--export-path", str(root / out), "--archive-format", fmt, "-q",
                *extra]  # fmt: skip
        subprocess.run(argv, cwd=source, env=env, check=True)

    archive("a", "default", "--serialized-file", "weights.pt")
    archive("tgz", "tgz", "--serialized-file", "weights.pt")
    archive("random", "default", "--serialized-file", "random.bin", name="r")
    (source / "handler.py").write_text(HANDLER + "# v2\n")
    archive("b", "default", "--serialized-file", "weights.pt")
    archive("b-dir", "no-archive", "--serialized-file", "weights.pt")
    shutil.rmtree(source)


def compile_packages() -> None:
    """Write the bytecode of our packages, as installing the wheel does: a checkout run with
    ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module at every start."""
    for package in ("mar_tools", "torch_model_archiver"):
        compileall.compile_dir(str(HERE.parent / package), quiet=1)


def run(scale: float = 1.0, repeats: int = 3) -> list[Comparison]:
    """Measure every comparison at *scale* (1.0 = 1 GiB), *repeats* runs each."""
    compile_packages()
    found = ensure_built(scale)
    at_size = scale >= 1
    label = f"{scale:g} GiB" if scale >= 1 else f"{scale * 1024:g} MiB"
    a, b, b_dir, tgz, random = (found[k] for k in ("a", "b", "b-dir", "tgz", "random"))
    out = work_dir(scale) / "out"
    results: list[Comparison] = []

    def pair(
        subject: tuple[str, list[str]],
        baseline: tuple[str, list[str]],
        *warmed: Path,
        outputs: tuple[Path, ...] = (),
    ) -> tuple[Measurement, Measurement]:
        """Both commands, alternately (A B A B...), so that other load falls on both. Before
        each run the inputs are read into memory and *outputs* deleted, so that both write a
        new file (replacing a large one costs ext4 a flush of the new one's data)."""

        def before() -> None:
            for output in outputs:
                output.unlink(missing_ok=True)
            warm(*warmed)

        return interleaved(subject, baseline, repeats=repeats, warmups=1, before_each=before)

    inspect, listing = pair(
        ("mar inspect", [str(MAR), "inspect", str(a)]), ("zipinfo -1", ["zipinfo", "-1", str(a)]), a
    )
    results.append(Comparison(
        f"{label} .mar (fp32 state dict, deflated): mar inspect vs zipinfo", inspect, listing,
        target="≤ 0.3 s wall", met=inspect.median <= 0.3 if at_size else None,
    ))  # fmt: skip
    inspect_tgz, tar = pair(
        ("mar inspect", [str(MAR), "inspect", str(tgz)]),
        ("tar -tzf", ["tar", "-tzf", str(tgz)]),
        tgz,
    )
    results.append(Comparison(
        f"{label} .tar.gz: mar inspect vs tar -tzf (reported; gzip has no index)",
        inspect_tgz, tar, target="reported",
    ))  # fmt: skip
    digest, sha = pair(
        ("mar inspect --digest", [str(MAR), "inspect", "--digest", str(a)]),
        ("sha256sum", ["sha256sum", str(a)]),
        a,
    )
    results.append(Comparison(
        f"{label} .mar: mar inspect --digest vs sha256sum (reported)", digest, sha,
        target="reported",
    ))  # fmt: skip
    diff, both = pair(
        ("mar diff", [str(MAR), "diff", str(a), str(b)]),
        ("cat a b > /dev/null", ["sh", "-c", f"cat '{a}' '{b}' > /dev/null"]),
        a,
        b,
    )
    results.append(Comparison(
        f"two {label} .mar differing in one small entry: mar diff vs reading both once",
        diff, both, target="≤ 1.2× cat a b",
        met=diff.median <= 1.2 * both.median if at_size else None,
    ))  # fmt: skip
    read_dir = f"cat '{a}' $(find '{b_dir}' -type f) > /dev/null"
    diff_dir, both_dir = pair(
        ("mar diff", [str(MAR), "diff", str(a), str(b_dir)]),
        ("cat a (files of b) > /dev/null", ["sh", "-c", read_dir]),
        a,
        b_dir,
    )
    results.append(Comparison(
        f"{label} .mar vs the other model as a directory: mar diff vs reading both once "
        "(reported; the directory's CRCs are computed)", diff_dir, both_dir, target="reported",
    ))  # fmt: skip
    for key, source, what in (("random", random, "incompressible"), ("fp32", a, "fp32")):
        copy = out / f"{key}.copy"
        target = out / f"{key}-store.mar"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        repack, cp = pair(
            ("mar repack --archive-format zip-store",
             [str(MAR), "repack", str(source), "--archive-format", "zip-store", "-o",
              str(target), "-f", "-q"]),
            ("cp", ["cp", str(source), str(copy)]),
            source,
            outputs=(copy, target),
        )  # fmt: skip
        stored = what == "incompressible"
        results.append(Comparison(
            f"repack default → zip-store, {label} {what} weights"
            + (" (stored in default: copied)" if stored else " (deflated in default: inflated; "
               "reported)"),
            repack, cp, target="≤ 2× cp" if stored else "reported",
            met=(repack.median <= 2 * cp.median if at_size else None) if stored else None,
        ))  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inspect")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = a 1 GiB model")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build_only:
        build(args.scale)
        return 0
    print(markdown_table(run(args.scale, args.repeats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
