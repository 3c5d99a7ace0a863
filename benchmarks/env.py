"""Per-model environments: what a cached environment costs a run, what building one costs,
and what TorchServe pays instead (it installs requirements at every model registration).

Run alone with ``python -m benchmarks.env [--scale S] [--repeats N]``, or through
``python -m benchmarks`` (which calls :func:`run`). Everything is offline: the requirements
are ``max(1, round(scale))`` small local wheels installed with ``--no-index``.

Comparisons (subject / baseline, same machine, same run):

1. warm run with requirements / the same model without requirements (target ≤ 1.2×):
   ``mar run ARCHIVE --input ...`` end to end, environment and extraction cached.
2. cold environment creation: uv / virtualenv + pip (``mar env create`` on an empty cache).
3. TorchServe's ``pip install -U -t <model dir> -r requirements.txt`` at every registration
   / ``mar env create`` finding its cached environment.
4. TorchServe's ``useVenv`` (``venv`` with pip, then ``pip install -U``) at every registration
   / ``mar env create`` building a virtualenv + pip environment from scratch.

Comparisons 1 and 2 alternate their two commands run by run, so that load from other
processes on a shared machine falls on both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import (
    Comparison,
    commands_block,
    interleaved,
    machine_info,
    markdown_table,
    measure,
)
from benchmarks.tiny_model import INPUT, write_tiny_model
from mar_tools.core.manifest import Manifest, ModelInfo
from mar_tools.env.installers import find_uv
from tests.support.wheels import write_wheel

PYTHON = Path(sys.executable)
MAR = PYTHON.with_name("mar")
WARM_TARGET = 1.2
#: The warm comparison carries a target: never fewer runs than this.
WARM_REPEATS = 5
OFFLINE = "--pip-option=--no-index"
REQS = "requirements.txt"


def run(scale: float, repeats: int) -> list[Comparison]:
    """Measure the four comparisons (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="mar-bench-env-") as scratch:
        work = Path(scratch)
        plain, with_reqs = _models(work, max(1, round(scale)))
        env = {**os.environ, "MAR_CACHE_DIR": str(work / "cache"), "PIP_NO_INDEX": "1"}
        comparisons = [
            _warm(work, plain, with_reqs, env, repeats),
            _cold(work, with_reqs, env, repeats),
            *_torchserve(work, with_reqs, env, repeats),
        ]
    return comparisons


def _models(work: Path, wheel_count: int) -> tuple[Path, Path]:
    """The tiny model twice: without requirements, and with *wheel_count* local wheels
    (the plain archive is written before the wheels and the requirements file exist)."""
    source = write_tiny_model(work / "source", PYTHON)
    plain = _archive(source, work / "plain.mar", "tiny", None)
    wheels = []
    for index in range(wheel_count):
        module = f"helper{index}"
        wheel = write_wheel(work / "wheels", module, "1.0", {f"{module}.py": "VALUE = 1\n"})
        shutil.copy(wheel, source / wheel.name)
        wheels.append(wheel.name)
    (source / "requirements.txt").write_text("".join(f"./{name}\n" for name in wheels))
    with_reqs = _archive(source, work / "with-requirements.mar", "tiny", "requirements.txt")
    return plain, with_reqs


def _archive(source: Path, target: Path, name: str, requirements: str | None) -> Path:
    info = ModelInfo(
        model_name=name,
        handler="handler.py",
        serialized_file="tiny.pt",
        model_file="model.py",
        model_version="1.0",
        requirements_file=requirements,
    )
    manifest = Manifest(runtime="python", model=info, archiver_version="0.12.0")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(source.iterdir()):
            if path.is_file():
                archive.write(path, path.name)
        archive.writestr("MAR-INF/MANIFEST.json", manifest.render())
    return target


def _extract(archive: Path, target: Path) -> Path:
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(target)
    return target


def _warm(
    work: Path, plain: Path, with_reqs: Path, env: dict[str, str], repeats: int
) -> Comparison:
    argv = [str(MAR), "run", "--input", str(work / "source" / INPUT)]
    subject_argv, baseline_argv = [*argv, str(with_reqs)], [*argv, str(plain)]
    # The first runs build the environment and extract the archives: not timed.
    measure("warm-up", [*subject_argv, OFFLINE], repeats=1, env=env)
    measure("warm-up", baseline_argv, repeats=1, env=env)
    notes = {"measured with": "mar run, end to end", "order": "interleaved, subject first"}
    subject, baseline = interleaved(
        ("with requirements (cached env)", subject_argv),
        ("without requirements", baseline_argv),
        repeats=max(repeats, WARM_REPEATS),
        env=env,
        notes=notes,
    )
    met = subject.median / baseline.median <= WARM_TARGET
    title = "warm run: model with requirements vs without"
    return Comparison(title, subject, baseline, target=f"≤ {WARM_TARGET}×", met=met)


def _cold(work: Path, with_reqs: Path, env: dict[str, str], repeats: int) -> Comparison:
    cold_cache = work / "cold-cache"
    cold_env = {**env, "MAR_CACHE_DIR": str(cold_cache)}

    def empty_cache() -> None:
        shutil.rmtree(cold_cache, ignore_errors=True)

    def create(installer: str) -> list[str]:
        return [str(MAR), "env", "create", str(with_reqs), "--installer", installer, OFFLINE]

    if find_uv() is None:
        pip_argv = create("pip")
        pip = measure(
            "virtualenv + pip", pip_argv, repeats=repeats, before_each=empty_cache, env=cold_env
        )
        return Comparison("cold environment creation: uv not installed", pip, pip)
    notes = {"order": "interleaved, uv first"}
    uv, pip = interleaved(
        ("uv", create("uv")),
        ("virtualenv + pip", create("pip")),
        repeats=repeats,
        before_each=empty_cache,
        env=cold_env,
        notes=notes,
    )
    return Comparison("cold environment creation: uv vs virtualenv + pip", uv, pip)


def _torchserve(work: Path, with_reqs: Path, env: dict[str, str], repeats: int) -> list[Comparison]:
    model_dir = work / "registered"

    def fresh_model_dir() -> None:
        # Every registration extracts the archive anew, then installs into it.
        shutil.rmtree(model_dir, ignore_errors=True)
        _extract(with_reqs, model_dir)

    pip_target = [
        str(PYTHON), "-m", "pip", "install", "-U", "-t", str(model_dir),
        "-r", str(model_dir / REQS), "--no-index",
    ]  # fmt: skip
    torchserve_target = measure(
        "TorchServe: pip install -U -t <model dir> (every registration)",
        pip_target,
        repeats=repeats,
        before_each=fresh_model_dir,
        cwd=model_dir,
        env=env,
    )
    create = [str(MAR), "env", "create", str(with_reqs), "--installer", "pip", OFFLINE]
    measure("warm-up", create, repeats=1, env=env)
    ours_cached = measure("mar: cached environment", create, repeats=repeats, env=env)

    venv_script = (
        "import subprocess, sys, venv\n"
        "venv.create(sys.argv[1], clear=True, with_pip=True)\n"
        "subprocess.run([sys.argv[1] + '/bin/python', '-m', 'pip', 'install', '-U',"
        " '--upgrade-strategy', 'only-if-needed', '--no-index', '-r', sys.argv[2]], check=True)\n"
    )
    torchserve_venv = measure(
        "TorchServe useVenv: venv + pip install -U (every registration)",
        [str(PYTHON), "-c", venv_script, str(model_dir / "venv"), str(model_dir / REQS)],
        repeats=repeats,
        before_each=fresh_model_dir,
        cwd=model_dir,
        env=env,
    )
    cold_cache = work / "cold-cache-ts"

    def empty_cache() -> None:
        shutil.rmtree(cold_cache, ignore_errors=True)

    ours_cold = measure(
        "mar: new virtualenv + pip environment",
        create,
        repeats=repeats,
        before_each=empty_cache,
        env={**env, "MAR_CACHE_DIR": str(cold_cache)},
    )
    title = "requirements at registration: TorchServe {} vs mar {}"
    return [
        Comparison(title.format("pip -t", "cached env"), ours_cached, torchserve_target),
        Comparison(title.format("useVenv", "new env"), ours_cold, torchserve_venv),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.env", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="number of wheels (rounded)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the medians as JSON too")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    comparisons = run(args.scale, args.repeats)
    print(f"{machine_info()}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print(markdown_table(comparisons))
    print()
    print(commands_block(comparisons))
    if args.json:
        print(json.dumps({c.title: {"ratio": round(c.ratio, 3)} for c in comparisons}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
