"""Start-up of the console scripts (issue 15's targets, set again by issue 12's help work).

Each command runs alternately with a bare interpreter (``python -c pass``) in the same run
(:func:`~benchmarks.harness.interleaved`), so that a busy shared machine weighs on both; the
targets are judged on the median:

* ``mar --help`` ≤ 80 ms (lists the commands without importing them);
* ``torch-model-archiver --help`` ≤ 60 ms;
* ``mar validate`` on a 1 KiB archive ≤ 3× the bare interpreter.

Two rows without a target explain that one: the same ``mar validate`` forced through click
(``MAR_CLICK_ONLY=1``, the path every command line took before issue 15's second round), and
the floor under any validator written on the standard library: an interpreter that only
imports the standard-library modules ``mar validate`` loaded (:func:`checks_stdlib`, found by
running it), against the bare one.

Two more report the archiver's fixed cost per build (issue 15's round two: the 1 GiB build
within 1.3× ``cp`` pays it once): ``torch-model-archiver`` building a 4 KiB model, parsed
without click as it comes, and forced through click.

The two absolute targets are also shown as ratios, since this machine's bare start-up is the
floor under both. *scale* is unused: start-up does not depend on data size.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from benchmarks.harness import Comparison, interleaved

BIN = Path(sys.executable).parent
MAR = BIN / "mar"
ARCHIVER = BIN / "torch-model-archiver"
MANIFEST = (
    '{"createdOn": "01/01/2025 00:00:00", "runtime": "python", "model": {"modelName": "m", '
    '"handler": "handler.py", "modelVersion": "1.0"}, "archiverVersion": "0.12.0"}'
)
HANDLER = "def handle(data, context):\n    return data\n"
#: Prints, as JSON, the standard-library modules ``mar validate`` (argv[1:]) loads that a bare
#: interpreter has not: run with the project's interpreter, it is the floor under any
#: validator on the standard library (see :func:`checks_stdlib`).
_LOADED_STDLIB = """
import sys
before = set(sys.modules)
sys.argv = sys.argv[1:]
with open(sys.argv[0]) as script:
    code = compile(script.read(), sys.argv[0], "exec")
try:
    exec(code, {"__name__": "__main__"})
except SystemExit:
    pass
names = sorted(
    name for name in set(sys.modules) - before
    if name.partition(".")[0] in sys.stdlib_module_names and not name.startswith("_")
)
sys.__stdout__.write("\\n" + repr(names))
"""


def checks_stdlib(argv: list[str], env: dict[str, str]) -> str:
    """A ``python -c`` program importing exactly the standard-library modules that *argv*
    (a ``mar validate`` command line) loads, measured, not listed by hand: the row stays
    the floor under the validator as its imports change."""
    loaded = subprocess.run(
        [sys.executable, "-c", _LOADED_STDLIB, *argv],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    names = ast.literal_eval(loaded.stdout.rsplit("\n", 1)[-1])
    return "import " + ", ".join(names) if names else "pass"


def small_archive(directory: Path) -> Path:
    """A valid .mar of about 1 KiB: a manifest and a handler."""
    path = directory / "small.mar"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("MAR-INF/MANIFEST.json", MANIFEST)
        archive.writestr("handler.py", HANDLER + "# " + "x" * 600 + "\n")
    return path


def tiny_model(directory: Path) -> list[str]:
    """The arguments of a build of a handler and 4 KiB of weights into *directory*/out,
    replacing the last one, quietly (absolute paths: the build runs from anywhere)."""
    handler = directory / "handler.py"
    handler.write_text(HANDLER)
    weights = directory / "small.bin"
    weights.write_bytes(os.urandom(4096))
    return [
        "--model-name", "tiny", "--handler", str(handler), "-v", "1.0",
        "--serialized-file", str(weights), "--export-path", str(directory / "out"), "-f", "-q",
    ]  # fmt: skip


def run(scale: float, repeats: int) -> list[Comparison]:
    """The start-up comparisons (see the module docstring)."""
    del scale
    rounds = max(repeats * 5, 10)  # start-up is short: more runs, steadier medians
    bare = ("python -c pass", [sys.executable, "-c", "pass"])
    # Bytecode is written (by the warm-up runs) and used, as in any installation: without
    # it every run would compile the sources again and measure the compiler.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    results = []
    with tempfile.TemporaryDirectory(prefix="mar-startup-") as temporary:
        archive = small_archive(Path(temporary))
        build = [str(ARCHIVER), *tiny_model(Path(temporary))]
        cases = (
            ("mar --help", [str(MAR), "--help"], 0.080, "≤ 80 ms"),
            ("torch-model-archiver --help", [str(ARCHIVER), "--help"], 0.060, "≤ 60 ms"),
            ("mar validate (1 KiB .mar)", [str(MAR), "validate", str(archive)], None, "≤ 3×"),
        )
        for label, argv, limit, target in cases:
            subject, baseline = interleaved((label, argv), bare, repeats=rounds, warmups=2, env=env)
            met = (
                subject.median <= limit
                if limit is not None
                else subject.median <= 3 * baseline.median
            )
            results.append(
                Comparison(
                    f"start-up: {label} vs a bare interpreter",
                    subject,
                    baseline,
                    target=f"{target} (bare python {baseline.median * 1000:.0f} ms)"
                    if limit is not None
                    else "≤ 3× a bare interpreter",
                    met=met,
                )
            )
        explained = (
            (
                "mar validate (1 KiB .mar), click path",
                [str(MAR), "validate", str(archive)],
                {**env, "MAR_CLICK_ONLY": "1"},
            ),
            ("torch-model-archiver (a 4 KiB model)", build, env),
            (
                "torch-model-archiver (a 4 KiB model), click path",
                build,
                {**env, "MAR_CLICK_ONLY": "1"},
            ),
            (
                "the standard library mar validate imports",
                [sys.executable, "-c", checks_stdlib([str(MAR), "validate", str(archive)], env)],
                env,
            ),
        )
        for label, argv, case_env in explained:
            subject, baseline = interleaved(
                (label, argv), bare, repeats=rounds, warmups=2, env=case_env
            )
            title = f"start-up: {label} vs a bare interpreter"
            results.append(Comparison(title, subject, baseline))
    return results
