"""Cached virtualenvs holding the real upstream tools, for comparisons in tests and benchmarks.

* :func:`archiver_venv`: ``torch-model-archiver==0.12.0`` alone (no torch; archiving needs none).
* :func:`torchserve_venv`: ``torchserve==0.12.0`` + the archiver + the CPU ``torch==2.13.0`` and
  what TorchServe's Python backend imports (PyYAML, Pillow, psutil, packaging, numpy).

Each venv is built once per machine under ``$MAR_DEV_CACHE`` (default
``~/.cache/mar-tools-dev``), keyed by a hash of its package list, under a file lock so that
parallel test processes build it once. A half-built venv is never reused: the ready marker is
written last.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "dev" / "constraints.txt"
UPSTREAM_VERSION = "0.12.0"
ARCHIVER_PACKAGES = (f"torch-model-archiver=={UPSTREAM_VERSION}",)
TORCHSERVE_PACKAGES = (
    f"torchserve=={UPSTREAM_VERSION}",
    f"torch-model-archiver=={UPSTREAM_VERSION}",
    "torch==2.13.0",
    "pyyaml",
    "pillow",
    "psutil",
    "packaging",
    "numpy",
)
READY = ".ready"


class UpstreamUnavailable(RuntimeError):
    """The upstream venv could not be built (no registry access, pip failure)."""


def dev_cache() -> Path:
    """Root of caches that survive between test runs and CI runs on one machine."""
    configured = os.environ.get("MAR_DEV_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "mar-tools-dev"


def venv_bin(venv: Path, tool: str) -> Path:
    """Path of *tool* (``python``, ``torch-model-archiver``, ``torchserve``) in *venv*."""
    return venv / "bin" / tool


def build_venv(name: str, packages: tuple[str, ...]) -> Path:
    """Return a ready venv named *name* holding *packages*, building it on first use."""
    key = hashlib.sha256("\n".join((sys.version, *packages)).encode()).hexdigest()[:12]
    target = dev_cache() / "upstream" / f"{name}-{key}"
    if (target / READY).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=900):
        if (target / READY).exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(target)])
        pip = [str(venv_bin(target, "python")), "-m", "pip", "--disable-pip-version-check"]
        _run([*pip, "install", "--quiet", "-c", str(CONSTRAINTS), *packages])
        (target / READY).write_text("\n".join(packages) + "\n")
    return target


def archiver_venv() -> Path:
    """The venv with upstream ``torch-model-archiver`` 0.12.0."""
    return build_venv("archiver", ARCHIVER_PACKAGES)


def torchserve_venv() -> Path:
    """The venv with upstream TorchServe 0.12.0 (frontend jar included) and CPU torch."""
    return build_venv("torchserve", TORCHSERVE_PACKAGES)


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise UpstreamUnavailable(f"{' '.join(argv)} failed ({done.returncode}):\n{tail}")
