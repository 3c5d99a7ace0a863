"""The same archives and requests through ``mar run`` and through upstream TorchServe 0.12's
Python backend (``ts.model_loader`` + ``ts.service`` in a venv with ``torchserve==0.12.0``):
every status code, content type, header and body must be identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mar_tools.run.response import Response
from tests.run.support import (
    build_archive,
    compare_responses,
    manifest,
    normalized_metrics,
    responses_of,
    run_both,
    run_mar,
    run_upstream,
    sent_requests,
    source,
)

pytestmark = pytest.mark.compat

DISPATCH = source(
    """
    import json

    from ts.handler_utils.utils import send_intermediate_predict_response
    from ts.utils.util import PredictionException


    def handle(data, context):
        if data is None:
            return None
        if len(data) > 1:
            return [repr(sorted(row.items())) for row in data]
        row = data[0]
        value = row.get("data") or row.get("body")
        command = value.get("cmd") if isinstance(value, dict) else value
        if isinstance(command, (bytes, bytearray)):
            command = command.decode()
        if command == "json":
            return [{"a": [1, 2.5, None, True], "s": "\u00e9\u2028<&>", "row": repr(row)}]
        if command == "bytes":
            return [b"\\x00\\xffraw"]
        if command == "bytearray":
            return [bytearray(b"ba")]
        if command == "text":
            return ["h\u00e9llo " + repr(value)]
        if command == "tensor":
            import torch
            return [torch.tensor([[1.0, 2.0]])]
        if command == "predexc":
            raise PredictionException('teapot <&> "quoted"\\nline\u2028', 418)
        if command == "predexc413":
            raise PredictionException("too big", 413)
        if command == "memory":
            raise MemoryError()
        if command == "cuda":
            raise RuntimeError("CUDA error: out of memory")
        if command == "value":
            raise ValueError("boom")
        if command == "notlist":
            return {"a": 1}
        if command == "wronglen":
            return [1, 2]
        if command == "unsupported":
            return [{1, 2}]
        if command == "nan":
            return [[float("nan"), float("inf")]]
        if command == "none":
            return [None]
        if command == "status":
            context.set_response_status(201, "Created")
            context.set_response_content_type(0, "text/x-custom")
            context.set_response_header(0, "X-Extra", "yes")
            return ["made"]
        if command == "headers":
            return [{"headers": context.get_all_request_header(0), "id": context.get_request_id(0)}]
        if command == "context":
            props = dict(context.system_properties)
            return [{"props": props, "name": context.model_name, "manifest": context.manifest,
                     "yaml": context.model_yaml_config}]
        if command == "stream":
            for part in ("one ", "two "):
                send_intermediate_predict_response(
                    [part], context.request_ids, "Intermediate", 200, context
                )
            return ["three"]
        if command == "metrics":
            context.metrics.add_counter("MyCounter", 2)
            return ["counted"]
        if command == "undeclared":
            context.metrics.get_metric("Undeclared")
            return ["unreachable"]
        return ["unknown " + repr(command)]
    """
)

COMMANDS = [
    "json", "bytes", "bytearray", "text", "tensor", "predexc", "predexc413", "memory", "cuda",
    "value", "notlist", "wronglen", "unsupported", "nan", "none", "status", "headers",
    "context", "stream", "metrics", "undeclared", "other",
]  # fmt: skip


def test_function_handler_every_outcome(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    archive = build_archive(
        tmp_path / "dispatch",
        {"dispatch.py": DISPATCH, "config.yaml": "handler:\n  x: 1\nbatchSize: 1\n"},
        manifest("dispatch.py", name="dispatch", config_file="config.yaml"),
    )
    args: list[str] = [str(archive), "--format", "json", "-H", "X-Token: abc", "-H", "Accept: */*"]
    values: list[list[bytes]] = []
    for command in COMMANDS:
        args += ["--data", command]
        values.append([command.encode()])
    args += ["--content-type", "text/plain"]
    done = run_mar(args, cache=cache)
    assert done.returncode == 1, done.stderr  # some requests fail, by design
    document = done.json()
    ours = responses_of(document)
    theirs = run_upstream(
        upstream_python,
        Path(document["model"]["model_dir"]),
        handler="dispatch.py",
        requests=sent_requests(document, values),
        batch_size=1,
        metrics_config=upstream_metrics_config,
        model_name="dispatch",
        work=tmp_path / "upstream",
    )
    compare_responses(ours, theirs)
    by_input = {item["input"]: item for item in ours}
    assert by_input["--data #6"]["status"] == 418  # PredictionException keeps its code
    assert by_input["--data #7"]["status"] == 507  # 413 becomes 507 in the frontend
    # The same metric lines, but for durations and the clock.
    upstream_metrics = json.loads((tmp_path / "upstream" / "metrics.json").read_text())
    assert normalized_metrics(document["metrics"]) == normalized_metrics(upstream_metrics)
    assert any(line.startswith("[METRICS]MyCounter.Count:2|") for line in document["metrics"])


def _run_both(*args: Any, **kwargs: Any) -> tuple[list[dict[str, Any]], list[Response] | str]:
    ours, theirs, _ = run_both(*args, **kwargs)
    return ours, theirs


CLASS_HANDLER = source(
    """
    import json


    class Handler:
        def __init__(self):
            self.batches = 0

        def initialize(self, context):
            self.batch_size = context.system_properties["batch_size"]

        def handle(self, data, context):
            self.batches += 1
            out = []
            for index, row in enumerate(data):
                context.set_response_header(index, "X-Batch", str(self.batches))
                out.append(json.dumps({
                    "batch": self.batches,
                    "batch_size": self.batch_size,
                    "row": {name: repr(value) for name, value in row.items()},
                    "types": context.get_request_header(index, next(iter(row))),
                }))
            return out
    """
)


def test_class_handler_in_batches_with_form_fields(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    archive = build_archive(
        tmp_path / "classy", {"classy.py": CLASS_HANDLER}, manifest("classy.py", name="m")
    )
    (tmp_path / "a.txt").write_text("plain text")
    (tmp_path / "b.bin").write_bytes(b"\x00\x01binary")
    arguments = ["--batch-size", "2", "--input", f"data={'@'}{tmp_path / 'a.txt'}"]
    arguments += ["--input", f"blob=@{tmp_path / 'b.bin'}", "--data", '{"k": 1}']
    values = [[b"plain text"], [b"\x00\x01binary"], [b'{"k": 1}']]
    ours, theirs = _run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "classy.py",
        arguments, values, batch_size=2,
    )  # fmt: skip
    compare_responses(ours, theirs)
    assert [item["headers"] for item in ours] == [
        {"X-Batch": "1"},
        {"X-Batch": "1"},
        {"X-Batch": "2"},
    ]


NAMED_FUNCTION = source(
    """
    def handle(data, context):
        raise AssertionError("the named function must be used, not handle")


    def my_entry(data, context):
        if data is None:
            return None
        return [{"rows": len(data), "first": repr(data[0])}]
    """
)


def test_custom_function_name(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    archive = build_archive(
        tmp_path / "named", {"named.py": NAMED_FUNCTION}, manifest("named:my_entry")
    )
    ours, theirs = _run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "named:my_entry",
        ["--data", "[1, 2]", "--content-type", "application/json"], [[b"[1, 2]"]],
    )  # fmt: skip
    compare_responses(ours, theirs)
    assert ours[0]["body"] == b'{\n  "rows": 1,\n  "first": "{\'body\': [1, 2]}"\n}'


SUBCLASS_HANDLER = source(
    """
    import torch
    from ts.torch_handler.base_handler import BaseHandler


    class Doubling(BaseHandler):
        def preprocess(self, data):
            return torch.tensor([row["body"] for row in data], dtype=torch.float32)

        def postprocess(self, data):
            return [{"out": row, "device": str(self.device)} for row in data.tolist()]
    """
)


def test_base_handler_subclass_with_torchscript(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    from tests.run.models import Doubler, torchscript

    archive = build_archive(
        tmp_path / "sub",
        {"sub.py": SUBCLASS_HANDLER, "model.pt": torchscript(Doubler())},
        manifest("sub.py", serialized_file="model.pt"),
    )
    body = b"[1.5, -2, 3]"
    ours, theirs = _run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "sub.py",
        ["--data", body.decode(), "--data", "[0, 0, 1]", "--content-type", "application/json",
         "--batch-size", "2"],
        [[body], [b"[0, 0, 1]"]], batch_size=2,
    )  # fmt: skip
    compare_responses(ours, theirs)
    assert ours[0]["body"].startswith(b'{\n  "out": [\n    4.0,\n    -3.0,\n    7.0\n  ]')


def test_builtin_base_handler_eager_model_in_body_envelope(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    from tests.run.models import linear_eager

    files = linear_eager()
    archive = build_archive(
        tmp_path / "linear",
        files,
        manifest("base_handler", serialized_file="weights.pth", model_file="model.py"),
    )
    ours, theirs = _run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "base_handler",
        ["--envelope", "body", "--content-type", "application/json",
         "--data", "[1, 2, 3]", "--data", "[0.5, 0, -1]", "--batch-size", "2"],
        [[b"[1, 2, 3]"], [b"[0.5, 0, -1]"]], batch_size=2, envelope="body",
    )  # fmt: skip
    compare_responses(ours, theirs)
    assert all(item["status"] == 200 for item in ours)


ECHO = source(
    """
    def handle(data, context):
        if data is None:
            return None
        out = []
        for item in data:
            if isinstance(item, dict) and "datatype" in item:
                out.append(item["data"])
            else:
                out.append(type(item).__name__ + ":" + repr(item))
        return out
    """
)


@pytest.mark.parametrize(
    ("envelope", "bodies"),
    [
        (
            "json",
            [
                b'{"instances": [[1, 2], {"b64": "aGVsbG8="}]}',
                b'{"instances": [{"image": {"b64": "aGk="}, "n": 3}]}',
            ],
        ),
        ("kserve", [b'{"instances": [[1.5], "text", {"x": 1}]}']),
        (
            "kservev2",
            [
                b'{"id": "req-7", "inputs": [{"name": "a", "shape": [2, 2], "datatype": "INT64",'
                b' "data": [1, 2, 3, 4]}, {"name": "b", "shape": [1], "datatype": "FP32",'
                b' "data": [0.5]}, {"name": "c", "shape": [1], "datatype": "BYTES",'
                b' "data": ["hi"]}]}'
            ],
        ),
    ],
)
def test_envelopes(
    tmp_path: Path,
    cache: Path,
    upstream_python: Path,
    upstream_metrics_config: Path,
    envelope: str,
    bodies: list[bytes],
) -> None:
    archive = build_archive(tmp_path / "echo", {"echo.py": ECHO}, manifest("echo.py"))
    arguments = ["--envelope", envelope, "--content-type", "application/json"]
    arguments += ["--batch-size", str(len(bodies))]
    for body in bodies:
        arguments += ["--data", body.decode()]
    ours, theirs = _run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "echo.py",
        arguments, [[body] for body in bodies], batch_size=len(bodies), envelope=envelope,
    )  # fmt: skip
    compare_responses(ours, theirs)
    assert all(item["status"] == 200 for item in ours)


def test_densenet_handler_tensor_requests(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    import io

    import torch

    from tests.run.models import StackedNet, torchscript

    archive = build_archive(
        tmp_path / "dense",
        {"model.pt": torchscript(StackedNet())},
        manifest("densenet_handler", serialized_file="model.pt"),
    )
    values = []
    for number, vector in enumerate(([1.0, 2.0], [3.0, -1.0], [0.5, 4.0])):
        buffer = io.BytesIO()
        torch.save(torch.tensor(vector), buffer)
        (tmp_path / f"t{number}.pt").write_bytes(buffer.getvalue())
        values.append([buffer.getvalue()])
    arguments = ["--batch-size", "2", *(f"--input={tmp_path / f't{n}.pt'}" for n in range(3))]
    ours, theirs = _run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "densenet_handler",
        arguments, values, batch_size=2,
    )  # fmt: skip
    compare_responses(ours, theirs)
    # Two requests in one batch: one output for two requests fails the length check.
    assert [item["status"] for item in ours] == [503, 503, 200]
    assert torch.load(io.BytesIO(ours[2]["body"])).tolist() == [[4.5, 2.0]]


METRICS_HANDLER = source(
    """
    from ts.metrics.metric_type_enum import MetricTypes


    def handle(data, context):
        if data is None:
            return None
        name = data[0]["body"].decode()
        metric = context.metrics.get_metric(name, MetricTypes.GAUGE)
        metric.add_or_update(3, ["m", "Model"])
        return ["found " + metric.metric_name + " in " + metric.unit]
    """
)


def test_metrics_declared_and_undeclared(
    tmp_path: Path, cache: Path, upstream_python: Path
) -> None:
    config = tmp_path / "metrics.yaml"
    config.write_text(
        "model_metrics:\n  gauge:\n    - name: MyGauge\n      unit: ms\n"
        "      dimensions: [ModelName, Level]\n"
    )
    archive = build_archive(tmp_path / "met", {"met.py": METRICS_HANDLER}, manifest("met.py"))
    ours, theirs = _run_both(
        tmp_path, cache, upstream_python, config, archive, "met.py",
        ["--metrics-config", str(config), "--data", "MyGauge", "--data", "HandlerTime"],
        [[b"MyGauge"], [b"HandlerTime"]],
    )  # fmt: skip
    compare_responses(ours, theirs)
    assert [item["status"] for item in ours] == [200, 503]
    assert ours[0]["body"] == b"found MyGauge in Milliseconds"


#: What captum needs besides torch, numpy and Pillow (which the upstream venv has).
_CAPTUM_DEPENDENCIES = (
    "captum", "matplotlib", "mpl_toolkits", "cycler", "dateutil", "fontTools", "kiwisolver",
    "pyparsing", "tqdm", "contourpy",
)  # fmt: skip


@pytest.fixture(scope="session")
def captum_overlay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory exposing this venv's captum (and its plotting dependencies) only, to be
    appended to the upstream worker's path: upstream's text handler imports captum."""
    import importlib.util

    overlay = tmp_path_factory.mktemp("captum-overlay")
    for name in _CAPTUM_DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            pytest.skip(f"{name} is not installed here")
        (overlay / name).symlink_to(next(iter(spec.submodule_search_locations)))
    return overlay


@pytest.mark.parametrize("explain", [False, True], ids=["predict", "explain"])
def test_text_classifier(
    tmp_path: Path,
    cache: Path,
    upstream_python: Path,
    upstream_metrics_config: Path,
    captum_overlay: Path,
    explain: bool,
) -> None:
    from tests.run.models import text_classifier

    files = {**text_classifier(), "index_to_name.json": b'{"0": "neg", "1": "neu", "2": "pos"}'}
    archive = build_archive(
        tmp_path / "text",
        files,
        manifest("text_classifier", serialized_file="weights.pth", model_file="model.py"),
    )
    text = "The <b>movie</b> wasn't bad, I would"
    arguments = ["--data", text, "--content-type", "text/plain"]
    if explain:
        arguments.append("--explain")
    ours, theirs = _run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "text_classifier",
        arguments, [[text.encode()]], extra_path=(captum_overlay,),
    )  # fmt: skip
    compare_responses(ours, theirs)
    assert ours[0]["status"] == 200
    body = ours[0]["body"]
    assert isinstance(body, bytes)
    assert (b'"importances"' in body) is explain


def test_the_worker_uses_a_real_torchserve_when_the_interpreter_has_one(
    tmp_path: Path, cache: Path, upstream_python: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same archive, same requests: our worker with upstream's ``ts`` package (found first on
    the path of the torchserve venv's interpreter) answers exactly like with ours."""
    from mar_tools.core.interpreter import Interpreter
    from mar_tools.run import InputSpec, RunOptions, run_archive

    monkeypatch.setenv("MAR_CACHE_DIR", str(cache))
    archive = build_archive(
        tmp_path / "dispatch", {"dispatch.py": DISPATCH}, manifest("dispatch.py", name="d")
    )
    inputs = tuple(InputSpec.from_data(command, i) for i, command in enumerate(COMMANDS, 1))
    results = []
    for interpreter in (Interpreter(), Interpreter(upstream_python, {}, "torchserve venv")):
        options = RunOptions(archive=archive, inputs=inputs, quiet=True)
        results.append(
            run_archive(options, read_stdin=bytes, environment=lambda *_: interpreter)  # noqa: B023
        )
    ours, real = results
    assert Path(ours.ts_package) == Path(__file__).parents[2] / "mar_tools" / "compat" / "ts"
    venv = upstream_python.parents[1]
    assert Path(real.ts_package).is_relative_to(venv) and real.ts_package.endswith("/ts")

    # Request ids differ between the runs; the "headers" command echoes one.
    def view(result: Any) -> list[tuple[object, ...]]:
        return [
            (r.label, r.status, r.content_type, dict(r.headers),
             r.body.replace(r.request_id.encode(), b"ID"))
            for r in result.responses
        ]  # fmt: skip

    assert view(real) == view(ours)
