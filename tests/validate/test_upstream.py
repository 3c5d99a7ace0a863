"""Every archive upstream torch-model-archiver 0.12.0 builds passes, in every format, with no
finding at all (not even a warning), in full and in quick mode."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mar_tools.validate import ValidateOptions, validate_paths
from tests.support.upstream import UpstreamUnavailable, archiver_venv, venv_bin
from tests.validate.builders import CONFIG, HANDLER, MODEL, REQUIREMENTS

pytestmark = pytest.mark.compat
FORMATS = ("default", "zip-store", "tgz", "no-archive")


@pytest.fixture(scope="module")
def archiver() -> Path:
    try:
        return venv_bin(archiver_venv(), "torch-model-archiver")
    except UpstreamUnavailable as exc:  # no registry access: nothing to compare with
        pytest.skip(f"upstream torch-model-archiver unavailable: {exc}")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory, weights: bytes) -> Path:
    root = tmp_path_factory.mktemp("sources")
    (root / "handler.py").write_bytes(HANDLER)
    (root / "fn_handler.py").write_bytes(b"def predict(data, context):\n    return data\n")
    (root / "model.py").write_bytes(MODEL)
    (root / "weights.pt").write_bytes(weights)
    (root / "model-config.yaml").write_bytes(CONFIG)
    (root / "requirements.txt").write_bytes(REQUIREMENTS)
    extra = root / "extra"
    (extra / "sub").mkdir(parents=True)
    (extra / "index_to_name.json").write_text('{"0": "cat"}')
    (extra / "sub" / "vocab.txt").write_text("a\nb\n")
    (extra / "helpers.py").write_text("import json\n")
    return root


MODELS = {
    "full": [
        "--handler", "handler.py", "--model-file", "model.py", "--serialized-file", "weights.pt",
        "-r", "requirements.txt", "-c", "model-config.yaml", "--extra-files", "extra",
    ],
    "function": ["--handler", "fn_handler:predict", "--serialized-file", "weights.pt"],
    "builtin": ["--handler", "image_classifier", "--serialized-file", "weights.pt",
                "--extra-files", "extra/index_to_name.json"],
}  # fmt: skip


@pytest.fixture(scope="module")
def built(archiver: Path, sources: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    export = tmp_path_factory.mktemp("export")
    paths: list[Path] = []
    for model, flags in MODELS.items():
        for fmt in FORMATS:
            name = f"{model}-{fmt}"
            subprocess.run(
                [str(archiver), "--model-name", name, "--version", "1.0", *flags,
                 "--export-path", str(export), "--archive-format", fmt],
                cwd=sources, check=True, capture_output=True,
            )  # fmt: skip
            suffix = {"tgz": ".tar.gz", "no-archive": ""}.get(fmt, ".mar")
            paths.append(export / f"{name}{suffix}")
    return paths


@pytest.mark.parametrize("quick", [False, True])
def test_upstream_archives_pass_with_no_findings(built: list[Path], quick: bool) -> None:
    report = validate_paths(built, ValidateOptions(quick=quick))
    formats = sorted({result.format or "" for result in report.results})
    assert formats == ["directory", "tgz", "zip"]
    for result in report.results:
        assert result.findings == (), result.path
    assert report.valid
