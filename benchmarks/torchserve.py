"""Launch to first prediction: the real TorchServe 0.12 against ``mar run`` on the same archive.

TorchServe is timed from launching ``torchserve --start --foreground`` (default JVM options)
until the first prediction's response has arrived: JVM start, registration with one worker
(``synchronous=true``), the request. ``mar run`` is timed as a whole command, with an empty
cache (cold: it extracts the archive, as TorchServe does at every registration).

Two archives, both built by upstream's archiver: a small eager model (a ``BaseHandler``
subclass), and a model with a requirements file naming a wheel shipped in the archive.
TorchServe pip-installs that at every registration; ``mar run`` builds its cached
environment once (untimed warm-up) and reuses it. That second handler imports no torch:
TorchServe's worker imports it anyway (``ts`` does), ``mar run``'s worker does not, so most of
that ratio is TorchServe's fixed start-up cost (JVM, torch), not the install; the notes say so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.harness import Comparison, Measurement, measure
from benchmarks.tiny_model import ARCHIVER_ARGS, INPUT, write_tiny_model
from tests.compat.catalog import DEPS
from tests.support.http_client import InferenceRequest
from tests.support.process_group import descendants
from tests.support.torchserve import TorchServe
from tests.support.upstream import torchserve_venv, venv_bin

MAR = Path(sys.executable).with_name("mar")
DEPS_NOTE = (
    "imports no torch: mar run's worker skips it, TorchServe's imports it anyway "
    "(compare the small-model row for TorchServe's fixed start-up cost)"
)


def run(scale: float, repeats: int) -> list[Comparison]:
    """Both comparisons; *scale* is unused (start-up costs do not depend on data size)."""
    del scale
    venv = torchserve_venv()
    with tempfile.TemporaryDirectory(prefix="mar-bench-torchserve-") as tmp:
        root = Path(tmp)
        store = root / "store"
        store.mkdir()
        tiny = write_tiny_model(root / "tiny", Path(sys.executable))
        _archive(venv, tiny, "tiny", ARCHIVER_ARGS, store)
        deps = DEPS.staged(root / "sources")
        _archive(venv, deps, "deps", DEPS.args, store)
        body = (tiny / INPUT).read_bytes()
        (root / "deps-input.txt").write_text("needs a package")

        small = Comparison(
            "launch to first prediction, small eager model (cold)",
            subject=_mar_run(
                root, store / "tiny.mar", tiny / INPUT, "application/json", repeats, cold=True
            ),
            baseline=_torchserve(
                venv, root, "tiny", InferenceRequest(body, "application/json"), repeats
            ),
            target="reported",
        )
        mar_deps = _mar_run(
            root, store / "deps.mar", root / "deps-input.txt", "text/plain", repeats, cold=False
        )
        with_requirements = Comparison(
            "with requirements: TorchServe installs at every registration, mar run reuses its env",
            subject=replace(mar_deps, notes={"handler": DEPS_NOTE}),
            baseline=_torchserve(
                venv, root, "deps", InferenceRequest(b"needs a package", "text/plain"), repeats
            ),
            target="reported",
        )
    return [small, with_requirements]


def _archive(venv: Path, source: Path, name: str, args: tuple[str, ...], store: Path) -> None:
    argv = [str(venv_bin(venv, "torch-model-archiver")), "--model-name", name, *args]
    subprocess.run(
        [*argv, "--export-path", str(store), "-f"], cwd=source, check=True, capture_output=True
    )


def _mar_run(
    root: Path, archive: Path, data: Path, content_type: str, repeats: int, *, cold: bool
) -> Measurement:
    cache = root / "mar-cache"
    env = {**_base_env(), "MAR_CACHE_DIR": str(cache)}
    argv = [str(MAR), "run", str(archive), "--input", str(data), "--content-type", content_type]

    def clear_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    if not cold:
        # Build the model's environment (and extraction) once; the timed runs reuse it.
        subprocess.run(argv, env=env, check=True, capture_output=True)
    label = "mar run (empty cache)" if cold else "mar run (cached extraction and environment)"
    return measure(label, argv, repeats=repeats, before_each=clear_cache if cold else None, env=env)


def _torchserve(
    venv: Path, root: Path, model: str, request: InferenceRequest, repeats: int
) -> Measurement:
    seconds: list[float] = []
    peak = 0
    for attempt in range(repeats):
        home = root / f"torchserve-{model}-{attempt}"
        started = time.perf_counter()
        with TorchServe.start(venv, home, model_store=root / "store") as server:
            registered = server.register(f"{model}.mar")
            answer = server.predict(model, request)
            elapsed = time.perf_counter() - started
            if registered.status != 200 or answer.status != 200:
                raise RuntimeError(
                    f"TorchServe answered {registered.status}/{answer.status}:\n{server.logs()}"
                )
            peak = max(peak, _tree_peak_rss(server.pid))
        seconds.append(elapsed)
    command = (
        f"torchserve --start --foreground --ncs --ts-config config.properties; "
        f"POST /models?url={model}.mar&initial_workers=1&synchronous=true; "
        f"POST /predictions/{model}"
    )
    return Measurement(
        "TorchServe 0.12 (launch + register + 1st prediction)", command, tuple(seconds), peak
    )


def _tree_peak_rss(root: int) -> int:
    """Largest peak RSS (VmHWM) among *root* and its descendants, in bytes."""
    peak = 0
    for pid in (root, *descendants(root)):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) * 1024)
    return peak


def _base_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "MAR_DEBUG"}
