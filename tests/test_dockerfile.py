"""The runtime image's Dockerfile, checked without a Docker daemon (none here or in CI).

The command it runs is the one ``mar kserve manifests`` puts in the ServingRuntime; it
exposes KServe's HTTP port and TorchServe's metrics port, runs as a non-root user, pins its
base image and torch; and the files it copies are enough to build and install the wheel with
the extras it names (built here with pip from exactly those files).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mar_tools.serve.kserve_manifests import ManifestOptions, serving_runtime

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line, continuations joined."""
    lines: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        pending += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            lines.append((word.upper(), rest.strip()))
            pending = ""
    return lines


def test_the_image_runs_what_the_serving_runtime_runs() -> None:
    instructions = _instructions()
    (cmd,) = [json.loads(args) for word, args in instructions if word == "CMD"]
    runtime = serving_runtime(ManifestOptions(image="i", storage_uri="s3://b/m"))
    assert cmd == runtime["spec"]["containers"][0]["args"]
    exposed = {port for word, args in instructions if word == "EXPOSE" for port in args.split()}
    assert exposed == {"8080", "8082"}
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1] not in ("0", "root")
    (base,) = [args for word, args in instructions if word == "FROM"]
    assert ":" in base and not base.endswith(":latest")
    assert any("torch==${TORCH_VERSION}" in args for word, args in instructions if word == "RUN")


@pytest.mark.slow
def test_the_copied_files_build_and_name_real_extras(tmp_path: Path) -> None:
    context = tmp_path / "src"
    context.mkdir()
    extras = ""
    for word, args in _instructions():
        if word == "COPY":
            *sources, _ = args.split()
            for source in sources:
                path = ROOT / source
                if path.is_dir():
                    shutil.copytree(
                        path, context / source, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy(path, context / source)
        if word == "RUN" and '"/src[' in args:
            extras = args.split('"/src[', 1)[1].split("]", 1)[0]
    assert extras == "serve,run"
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet"]
    done = subprocess.run(
        [*pip, "-w", str(tmp_path), str(context)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("mar_tools-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n).decode() for n in names if n.endswith("METADATA"))
    assert "mar_tools/cli/serve.py" in names and "mar_tools/serve/kserve.py" in names
    assert "mar_tools/worker/entry.py" in names
    for extra in extras.split(","):
        assert f"Provides-Extra: {extra}" in metadata
