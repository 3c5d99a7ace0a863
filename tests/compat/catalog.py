"""The models the compatibility suite builds, serves and runs, and the requests it sends them.

Two kinds: the repository's ``examples/`` (what users copy) and the suite's own models under
``tests/compat/models/`` (which exercise the backend contract: request decoding, batching,
explanations, every error path, per-model requirements).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.compat.model_spec import (
    FORMATS,
    Format,
    ModelSpec,
    Probe,
    explanation,
    json_request,
    raw_request,
    text_request,
    with_header,
)
from tests.support.http_client import InferenceRequest
from tests.support.wheels import write_wheel

__all__ = ["FORMATS", "Format", "ModelSpec", "Probe", "all_models"]

ROOT = Path(__file__).resolve().parents[2]
MODELS = Path(__file__).resolve().parent / "models"
EXAMPLES = ROOT / "examples"


#: TorchServe's no-archive pip quirk, for every model whose requirements name a local wheel.
NO_ARCHIVE_RELATIVE_WHEEL = (
    "TorchServe runs pip for a no-archive model in the parent of the model directory, so a "
    "relative wheel path in requirements.txt does not resolve there"
)

PROBE = ModelSpec(
    name="probe",
    source=MODELS / "probe",
    args=(
        "--handler",
        "probe_handler:entry",
        "--extra-files",
        "probe_helper.py,assets,notes/*.txt",
        "--config-file",
        "model-config.yaml",
        "-v",
        "1.0",
    ),
    singles=(
        Probe("json", json_request({"x": [1.5, 2], "label": "caf\u00e9"})),
        Probe("text", text_request("hello \u2603")),
        Probe("bytes", raw_request(bytes(range(256)))),
        Probe("header", with_header(text_request("with a header"))),
        Probe("bad-json", InferenceRequest(b"{not json", "application/json")),
        Probe(
            "form-text",
            InferenceRequest("caf\u00e9 form".encode(), "text/plain", form_field="data"),
        ),
        Probe("form-json", InferenceRequest(b'{"k": [1]}', "application/json", form_field="data")),
        Probe("form-bytes", InferenceRequest(b"\x00\x01", "image/png", form_field="image")),
        Probe(
            "urlencoded",
            InferenceRequest(b"a=1&b=two+words&a=3", "application/x-www-form-urlencoded"),
        ),
        Probe("return-bytes", text_request("return:bytes")),
        Probe("return-text", text_request("return:text")),
        Probe("status-201", text_request("status:201"), 201),
        Probe("prediction-exception", text_request("raise:prediction"), 422),
        Probe("value-error", text_request("raise:value"), 503),
        Probe("memory-error", text_request("raise:memory"), 507),
        Probe("wrong-length", text_request("return:short"), 503),
    ),
    # One content type and no extra headers: `mar run` applies those to every input of a run.
    batch=(
        Probe("batch-object", json_request({"item": 1})),
        Probe("batch-string", json_request("item two")),
        Probe("batch-list", json_request([3, 3.5])),
        Probe("batch-number", json_request(4)),
    ),
    explanations=(
        Probe("explain-json", explanation(json_request({"why": True}))),
        Probe("explain-error", explanation(text_request("raise:value")), 503),
    ),
)


def _tiny_wheel(source: Path) -> None:
    write_wheel(
        source, "marcompat-tiny", "1.0", {"marcompat_tiny/__init__.py": 'VALUE = "tiny 1.0"\n'}
    )


DEPS = ModelSpec(
    name="deps",
    source=MODELS / "deps",
    args=(
        "--handler",
        "deps_handler.py",
        "--requirements-file",
        "requirements.txt",
        "--extra-files",
        "marcompat_tiny-1.0-py3-none-any.whl",
        "-v",
        "2.0",
    ),
    singles=(Probe("text", text_request("needs a package")),),
    prepare=_tiny_wheel,
    refused={"no-archive": NO_ARCHIVE_RELATIVE_WHEEL},
)


MICRO_BATCHING = ModelSpec(
    name="micro_batching",
    source=MODELS / "micro_batching",
    args=(*("--handler", "mb_handler.py", "--config-file", "model-config.yaml", "-v", "1.0"),),
    singles=(Probe("single", json_request([1.0, -2.0, 0.5])),),
    # One batch of 6 cut into micro-batches of 2 (upstream's ts in TorchServe, ours in
    # `mar run`): every answer names its micro-batch.
    batch=tuple(Probe(f"row-{i}", json_request([float(i), -1.0, 0.5 * i])) for i in range(6)),
)


def _generated(example: str, *artifacts: str) -> Callable[[Path], None]:
    """A *prepare* step copying *artifacts* of *example*, made by ``examples/generate.py``.

    The generator (it needs torch) runs once per staging directory, into
    ``<staging>/examples-build``; artifacts land beside the example's sources, so the
    archiver arguments name them relative to the example directory.
    """

    def prepare(staged: Path) -> None:
        out = staged.parent / "examples-build"
        if not (out / ".generated").exists():
            subprocess.run(
                [sys.executable, str(EXAMPLES / "generate.py"), "--out", str(out)],
                check=True,
                capture_output=True,
            )
        for name in artifacts:
            shutil.copyfile(out / example / name, staged / name)

    return prepare


EAGER_CLASSIFIER = ModelSpec(
    name="eager_classifier",
    source=EXAMPLES / "eager_classifier",
    args=(
        *("--model-file", "model.py", "--serialized-file", "weights.pt"),
        *("--handler", "handler.py", "--extra-files", "index_to_name.json", "-v", "1.0"),
    ),
    singles=(
        Probe("sample", json_request({"features": [0.5, -1.0, 2.0, 0.25]})),
        Probe("list", json_request([1.0, 0.0, -1.0, 3.0])),
        Probe("raw-bytes", raw_request(b'{"features": [0.1, 0.2, 0.3, 0.4]}')),
        Probe("wrong-shape", json_request({"features": [1.0, 2.0]}), 503),
    ),
    batch=tuple(
        Probe(f"batch-{i}", json_request({"features": [i, -i, 0.5 * i, 1.0]})) for i in range(4)
    ),
    explanations=(Probe("explain", explanation(json_request([0.5, -1.0, 2.0, 0.25])), 503),),
    prepare=_generated("eager_classifier", "weights.pt"),
)

SCRIPTED_FN = ModelSpec(
    name="scripted_fn",
    source=EXAMPLES / "scripted_fn",
    args=("--serialized-file", "model.pt", "--handler", "handler:my_fn", "-v", "1.0"),
    singles=(
        Probe("sample", json_request({"values": [1.0, 2.0, 3.0]})),
        Probe("list", json_request([0.5, -2])),
        Probe("text", text_request("[1, 2]")),
        Probe("not-json", text_request("not json"), 503),
    ),
    batch=(
        Probe("batch-1", json_request([1])),
        Probe("batch-2", json_request({"values": [2, 2]})),
        Probe("batch-3", json_request([3, 3, 3])),
    ),
    explanations=(Probe("explain", explanation(json_request([4.0]))),),
    prepare=_generated("scripted_fn", "model.pt"),
)

WITH_EXTRAS = ModelSpec(
    name="with_extras",
    source=EXAMPLES / "with_extras",
    args=(
        *("--model-file", "model.py", "--serialized-file", "weights.pt"),
        *("--handler", "handler.py", "--requirements-file", "requirements.txt"),
        *("--config-file", "model-config.yaml"),
        *("--extra-files", "assets,labels/*.json,tinydep-0.1.0-py3-none-any.whl", "-v", "1.0"),
    ),
    singles=(
        Probe("sample", text_request("I love this, it is great")),
        Probe("raw-bytes", raw_request(b"bad and awful, not fine")),
    ),
    batch=(Probe("batch-good", text_request("good good")), Probe("batch-bad", text_request("bad"))),
    explanations=(Probe("explain", explanation(text_request("great")), 503),),
    prepare=_generated("with_extras", "weights.pt", "tinydep-0.1.0-py3-none-any.whl"),
    refused={"no-archive": NO_ARCHIVE_RELATIVE_WHEEL},
)

EXAMPLE_MODELS: tuple[ModelSpec, ...] = (EAGER_CLASSIFIER, SCRIPTED_FN, WITH_EXTRAS)
#: The suite's own models; examples are added by :func:`all_models`.
SUITE_MODELS: tuple[ModelSpec, ...] = (PROBE, DEPS, MICRO_BATCHING)


def all_models() -> tuple[ModelSpec, ...]:
    """Every model the suite covers: its own, then each example."""
    return (*SUITE_MODELS, *EXAMPLE_MODELS)
