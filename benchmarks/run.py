"""``mar run`` against a hand-written script, and a 1 GiB archive against a small one.

1. **Script**: the least a user could write to run the same handler: import torch (through
   the handler), load the TorchScript model, call ``handle`` once, print the answer. ``mar
   run`` on the same model (extraction cached, as on every run after the first) must stay
   within 1.25x of it: everything ``mar run`` adds (its CLI, the cache lookup, a second
   interpreter, the protocol) has to fit in a quarter of the time torch takes to import.
2. **1 GiB**: an archive holding 1 GiB (x ``scale``) of incompressible bytes, stored, against
   the same archive without them. Once extracted, a run must cost less than 0.1 s more than
   the small archive's: the cache key is the archive's stat (a ``stat`` and two small reads),
   never a re-hash of the archive. The handler here does not import torch: a run then takes
   a few hundred milliseconds, so that 0.1 s stands out of the noise of a busy machine (the
   torch import is the same for both archives and only adds noise). The first (hashing and
   extracting) run of the big archive is reported too.
3. **First run vs cp** (issue 15): the first run of the big archive (empty cache: one pass
   that hashes, checks and extracts) against ``cp`` of the same archive file, alternately,
   each from a warm page cache: at most 1.5x. The extraction alone (``extract_archive``, in
   a ``python -c``, so without ``mar``'s start-up and the worker's) is reported against
   ``cp`` too.

Standalone: ``python -m benchmarks.run [--scale S] [--repeats N]`` prints the Markdown table.
The cold start against TorchServe 0.12 is measured by ``benchmarks/torchserve.py``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.harness import (
    Comparison,
    Measurement,
    commands_block,
    markdown_table,
    measure,
    run_once,
    warm,
)
from mar_tools.core.cache import cache_subdir
from mar_tools.core.extraction import cache_root

PYTHON = Path(sys.executable)
MAR = PYTHON.with_name("mar")
GIB = 1 << 30
SCRIPT_TARGET = 1.25
EXTRA_SECONDS_TARGET = 0.1
FIRST_RUN_TARGET = 1.5
#: Extracts argv[1] into the new directory argv[2], as a first run does (hash + checks).
EXTRACT_ONLY = (
    "import sys; from pathlib import Path; "
    "from mar_tools.core.archive.extractor import extract_archive; "
    "target = Path(sys.argv[2]); target.mkdir(); extract_archive(Path(sys.argv[1]), target)"
)
INPUT = "[" + ", ".join(str(i / 10) for i in range(16)) + "]"

HANDLER = """\
import json
import os

import torch

_model = None


def handle(data, context):
    global _model
    if data is None:
        path = os.path.join(context.system_properties["model_dir"], "model.pt")
        _model = torch.jit.load(path)
        return None
    batch = torch.tensor([json.loads(row["body"]) for row in data])
    with torch.inference_mode():
        return _model(batch).tolist()
"""

# The least a user writes to run the handler by hand: no archive, no context object.
SCRIPT = """\
import json
import sys
import types

model_dir = sys.argv[1]
sys.path.insert(0, model_dir)
import handler

context = types.SimpleNamespace(system_properties={"model_dir": model_dir})
handler.handle(None, context)
[answer] = handler.handle([{"body": bytearray(sys.argv[2].encode())}], context)
sys.stdout.write(json.dumps(answer, indent=2))
"""

MAKE_MODEL = """\
import sys
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(16, 4)

    def forward(self, x):
        return torch.softmax(self.layer(x), dim=-1)


torch.manual_seed(0)
torch.jit.save(torch.jit.script(Net()), sys.argv[1])
"""

# A handler without torch, for the archive-size comparison.
LIGHT_HANDLER = """\
def handle(data, context):
    return None if data is None else [len(row["body"]) for row in data]
"""

MANIFEST = """{
  "createdOn": "01/01/2025 00:00:00",
  "runtime": "python",
  "model": {
    "modelName": "bench",
    "serializedFile": "model.pt",
    "handler": "handler.py",
    "modelVersion": "1.0"
  },
  "archiverVersion": "0.12.0"
}"""


def _model_dir(root: Path) -> Path:
    model = root / "model"
    model.mkdir()
    (model / "handler.py").write_text(HANDLER)
    script = root / "make_model.py"
    script.write_text(MAKE_MODEL)
    subprocess.run([str(PYTHON), str(script), str(model / "model.pt")], check=True)
    return model


def _archive(model: Path, target: Path, padding: int, *, light: bool = False) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        if light:
            archive.writestr("handler.py", LIGHT_HANDLER)
        else:
            archive.write(model / "handler.py", "handler.py")
        archive.write(model / "model.pt", "model.pt")
        if padding:
            with archive.open("weights.bin", "w", force_zip64=padding >= 0xFFFFFFFF) as sink:
                left = padding
                while left:
                    chunk = min(left, 16 << 20)
                    sink.write(os.urandom(chunk))
                    left -= chunk
        archive.writestr("MAR-INF/MANIFEST.json", MANIFEST)
    return target


def _mar(archive: Path) -> list[str]:
    return [str(MAR), "run", str(archive), "--data", INPUT]


def _check_same_answer(model: Path, small: Path, script: Path, env: dict[str, str]) -> None:
    ours = subprocess.run(_mar(small), env=env, capture_output=True, check=True).stdout
    theirs = subprocess.run(
        [str(PYTHON), str(script), str(model), INPUT], capture_output=True, check=True
    ).stdout
    if ours != theirs:
        raise RuntimeError(f"mar run answered {ours!r}, the script {theirs!r}")


def _interleaved(
    first: tuple[str, list[str]],
    second: tuple[str, list[str]],
    repeats: int,
    env: dict[str, str],
) -> tuple[Measurement, Measurement]:
    """Measure two commands alternately (A B A B ...), so that a change of the machine's
    load during the benchmark affects both alike; one untimed warm-up run of each first."""
    timings: tuple[list[float], list[float]] = ([], [])
    peaks = [0, 0]
    for _ in range(repeats + 1):
        for index, (_, argv) in enumerate((first, second)):
            seconds, rss = run_once(argv, env=env)
            timings[index].append(seconds)
            peaks[index] = max(peaks[index], rss)
    return tuple(  # type: ignore[return-value]
        Measurement(label, shlex.join(argv), tuple(timings[i][1:]), peaks[i])
        for i, (label, argv) in enumerate((first, second))
    )


def run(scale: float = 1.0, repeats: int = 5) -> list[Comparison]:
    """Both comparisons (see the module docstring); *scale* sizes the big archive."""
    with tempfile.TemporaryDirectory(prefix="mar-bench-run-") as tmp:
        root = Path(tmp)
        cache = root / "cache"
        env = {**os.environ, "MAR_CACHE_DIR": str(cache)}
        env.pop("MAR_DEBUG", None)
        model = _model_dir(root)
        script = root / "by_hand.py"
        script.write_text(SCRIPT)
        small = _archive(model, root / "small.mar", 0)
        size = max(1, round(GIB * scale))
        light = _archive(model, root / "light.mar", 0, light=True)
        big = _archive(model, root / "big.mar", size, light=True)
        _check_same_answer(model, small, script, env)  # also fills the cache for small.mar

        baseline, subject = _interleaved(
            (
                "hand-written script (import torch, load model, call handler)",
                [str(PYTHON), str(script), str(model), INPUT],
            ),
            ("mar run (extraction cached)", _mar(small)),
            repeats,
            env,
        )
        vs_script = Comparison(
            "mar run vs a hand-written script, small TorchScript model",
            subject,
            baseline,
            target=f"≤ {SCRIPT_TARGET}×",
            met=subject.median <= SCRIPT_TARGET * baseline.median,
        )

        def clear_big() -> None:
            extracted = cache_root(cache_subdir("extracted", cache))
            for entry in [*extracted.glob("sha256-*"), *extracted.glob("blake3-*")]:
                if (entry / "weights.bin").exists():
                    shutil.rmtree(entry)
            shutil.rmtree(extracted / "index", ignore_errors=True)

        first = measure(
            f"mar run, {size / GIB:g} GiB archive, first run (hash + extract)",
            _mar(big),
            repeats=max(1, min(repeats, 2)),
            before_each=clear_big,
            env=env,
        )
        subprocess.run(_mar(big), env=env, check=True, capture_output=True)  # cache it again
        cached_small, cached_big = _interleaved(
            ("mar run, small archive, cached", _mar(light)),
            (f"mar run, {size / GIB:g} GiB archive, cached", _mar(big)),
            max(repeats, 10),
            env,
        )
        extra = cached_big.median - cached_small.median
        big_vs_small = Comparison(
            f"cached 2nd run: {size / GIB:g} GiB archive vs small archive "
            f"(adds {extra * 1000:+.0f} ms)",
            cached_big,
            cached_small,
            target=f"adds < {EXTRA_SECONDS_TARGET * 1000:.0f} ms",
            met=extra < EXTRA_SECONDS_TARGET,
        )
        first_run = Comparison(
            f"first run of the {size / GIB:g} GiB archive (reported)",
            first,
            cached_big,
            target="reported",
        )
        copied, first_again, extracted = _first_run_vs_cp(big, root, env, clear_big, repeats)
        vs_cp = Comparison(
            f"first run of the {size / GIB:g} GiB archive (hash + extract) vs cp",
            first_again,
            copied,
            target=f"≤ {FIRST_RUN_TARGET}× cp",
            met=first_again.median <= FIRST_RUN_TARGET * copied.median,
        )
        extraction_vs_cp = Comparison(
            f"extraction alone of the {size / GIB:g} GiB archive (hash + checks + write) vs cp",
            extracted,
            copied,
            target="reported",
        )
    return [vs_script, big_vs_small, first_run, vs_cp, extraction_vs_cp]


def _first_run_vs_cp(
    big: Path, root: Path, env: dict[str, str], clear: Callable[[], None], repeats: int
) -> tuple[Measurement, Measurement, Measurement]:
    """``cp`` of the archive, a first ``mar run`` of it and its extraction alone, measured
    alternately (A B C A B C ...) after one untimed warm-up of each (the page cache holds
    the archive for all three). Before each run, untimed: the outputs of earlier ones are
    deleted, written pages flushed (``os.sync``) and the archive read once more. Without
    that, ``cp`` (first in each round, after the most deletions) paid for the others'
    writeback, and for re-reading the archive from disk where the host's memory manager had
    paged it out meanwhile (this sandbox's kernel runs DAMON with a pageout scheme: cp's
    times were 0.33 s when the archive was cached, up to 3 s when not)."""
    copy = root / "copy.mar"
    target = root / "extract-only"
    commands = [
        ("cp of the archive", ["cp", str(big), str(copy)]),
        (f"mar run, {big.stat().st_size / GIB:.2g} GiB archive, first run", _mar(big)),
        ("extract_archive() alone", [str(PYTHON), "-c", EXTRACT_ONLY, str(big), str(target)]),
    ]
    timings: list[list[float]] = [[], [], []]
    peaks = [0, 0, 0]
    for round_ in range(max(repeats, 3) + 1):
        for index, (_, argv) in enumerate(commands):
            copy.unlink(missing_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            clear()
            os.sync()
            warm(big)
            seconds, rss = run_once(argv, env=env)
            if round_:
                timings[index].append(seconds)
                peaks[index] = max(peaks[index], rss)
    copy.unlink(missing_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    made = [
        Measurement(label, shlex.join(argv), tuple(timings[i]), peaks[i])
        for i, (label, argv) in enumerate(commands)
    ]
    return made[0], made[1], made[2]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    comparisons = run(args.scale, args.repeats)
    print(markdown_table(comparisons))
    print()
    print(commands_block(comparisons))
    return 0 if all(c.met is not False for c in comparisons) else 1


__all__ = ["Measurement", "run"]

if __name__ == "__main__":
    raise SystemExit(main())
