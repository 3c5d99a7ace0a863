"""The handler-facing ``ts`` modules added for issue 14, each used by a handler that runs
through ``mar run`` (our ``ts``) and through upstream TorchServe 0.12's Python backend (its
``ts``, in the torchserve venv): every status, header and body must be identical, and so
must the ``[METRICS]`` lines where the module emits some.

Where upstream hangs or crashes and we deliberately do not, the test shows both sides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.run.support import (
    build_archive,
    compare_responses,
    manifest,
    normalized_metrics,
    responses_of,
    run_both,
    run_mar,
    run_upstream,
    source,
)

pytestmark = [pytest.mark.compat, pytest.mark.slow]

MICRO_BATCHING = source(
    """
    import logging

    import torch
    from ts.handler_utils.micro_batching import MicroBatching
    from ts.torch_handler.base_handler import BaseHandler

    logger = logging.getLogger(__name__)


    class MicroBatchingHandler(BaseHandler):
        # As upstream's examples/micro_batching handler: the MicroBatching object is the
        # entry point, configured from model-config.yaml.
        def __init__(self):
            super().__init__()
            self.handle = MicroBatching(self)

        def initialize(self, ctx):
            super().initialize(ctx)
            settings = ctx.model_yaml_config.get("micro_batching", {})
            if settings.get("parallelism"):
                self.handle.parallelism = settings["parallelism"]
            self.handle.micro_batch_size = settings.get("micro_batch_size", 1)

        def preprocess(self, data):
            rows = [row["body"] for row in data]
            return self.handle.get_micro_batch_idx(), torch.tensor(rows, dtype=torch.float32)

        def inference(self, data):
            index, tensor = data
            return index, self.handle.get_micro_batch_idx(), super().inference(tensor)

        def postprocess(self, data):
            pre_index, inference_index, output = data
            threads = {stage: len(group) for stage, group in self.handle.thread_groups.items()}
            return [
                {
                    "out": row,
                    "micro_batch": [pre_index, inference_index, self.handle.get_micro_batch_idx()],
                    "micro_batch_rows": len(output),
                    "threads": threads,
                    "parallelism": self.handle.parallelism,
                }
                for row in output.tolist()
            ]
    """
)


def _json_inputs(rows: list[list[float]]) -> tuple[list[str], list[list[bytes]]]:
    arguments = ["--content-type", "application/json"]
    values = []
    for row in rows:
        body = json.dumps(row)
        arguments += ["--data", body]
        values.append([body.encode()])
    return arguments, values


@pytest.mark.parametrize(
    "parallelism",
    [None, {"preprocess": 2, "inference": 1, "postprocess": 3}],
    ids=["one-thread-per-stage", "parallel-stages"],
)
def test_micro_batching_batches_of_six_and_five_in_micro_batches_of_two(
    tmp_path: Path,
    cache: Path,
    upstream_python: Path,
    upstream_metrics_config: Path,
    parallelism: dict[str, int] | None,
) -> None:
    from tests.run.models import Doubler, torchscript

    config: dict[str, Any] = {"micro_batching": {"micro_batch_size": 2}}
    if parallelism:
        config["micro_batching"]["parallelism"] = parallelism
    archive = build_archive(
        tmp_path / "mb",
        {
            "mb_handler.py": MICRO_BATCHING,
            "model.pt": torchscript(Doubler()),
            "model-config.yaml": json.dumps(config),  # YAML is a superset of JSON
        },
        manifest("mb_handler.py", serialized_file="model.pt", config_file="model-config.yaml"),
    )
    # Eleven requests in batches of six: a batch of 6 (three micro-batches of 2) and a
    # batch of 5 (micro-batches of 2, 2 and 1).
    rows = [[float(i), -1.0, 0.5 * i] for i in range(11)]
    arguments, values = _json_inputs(rows)
    ours, theirs, _ = run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "mb_handler.py",
        [*arguments, "--batch-size", "6"], values, batch_size=6,
    )  # fmt: skip
    compare_responses(ours, theirs)
    answers = [json.loads(item["body"]) for item in ours]
    assert [answer["out"] for answer in answers] == [[2 * x + 1 for x in row] for row in rows]
    indexes = [answer["micro_batch"][0] for answer in answers]
    assert indexes == [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2]
    assert all(len(set(answer["micro_batch"])) == 1 for answer in answers)
    assert [answer["micro_batch_rows"] for answer in answers][-3:] == [2, 2, 1]
    expected_threads = {"preprocess": 1, "inference": 1, "postprocess": 1, **(parallelism or {})}
    assert all(answer["threads"] == expected_threads for answer in answers)


LEGACY = source(
    """
    import importlib
    import json
    import re
    import socket

    from ts.metrics.dimension import Dimension
    from ts.metrics.metric import Metric
    from ts.metrics.metric_encoder import MetricEncoder
    from ts.metrics.metrics_store import MetricsStore
    from ts.service import PREDICTION_METRIC, PredictionException, emit_metrics
    from ts.torch_handler.distributed.base_deepspeed_handler import BaseDeepSpeedHandler
    from ts.utils import util
    from ts.utils.timeit_decorator import timeit

    HEAVY = [
        "ts.handler_utils.distributed.deepspeed",
        "ts.handler_utils.distributed.pt_pippy",
        "ts.handler_utils.preprocess.dali",
        "ts.torch_handler.dali_handler",
        "ts.torch_handler.dali_image_classifier",
        "ts.torch_handler.vllm_handler",
        "ts.torch_handler.trt_llm_handler",
        "ts.torch_handler.distributed.base_pippy_handler",
    ]


    @timeit
    def timed_sum(a, b):
        return a + b


    def _plain(text):
        # The host name and the clock differ between the two runs.
        return re.sub(r"\\b\\d{10}\\b", "EPOCH", text.replace(socket.gethostname(), "HOST"))


    def _method(method):
        if isinstance(method, list):
            return [str(dimension) for dimension in method]
        return method


    def _store(context):
        store = MetricsStore(context.request_ids, context.model_name)
        mine = [Dimension("Kind", "a")]
        store.add_counter("Hits", 1, 0, mine)
        store.add_counter("Hits", 2, 0, [Dimension("Kind", "a")])
        store.add_time("Latency", 3.5, None, "ms", [Dimension("Where", "here")])
        store.add_time("Latency", 4.5, None, "ms", [Dimension("Where", "here")])
        store.add_size("Size", 1.5, 0, "kB")
        store.add_size("Size", 2, 0, "kB")
        store.add_percent("Share", 50, 0)
        store.add_error("Oops", 1)
        store.add_metric("Custom", 7, "items", 0)
        problems = []
        for call in (
            lambda: store.add_time("T", 1, unit="h"),
            lambda: store.add_size("S", 1, unit="TB"),
            lambda: store.add_counter("C", 1, dimensions=Dimension("Not", "a list")),
        ):
            try:
                call()
            except ValueError as exc:
                problems.append(str(exc))
        direct = Metric("Direct", 5, "ms", [Dimension("A", "b")], "request-7")
        direct.update(6)
        direct.reset()
        emit_metrics(store.store + [direct])
        emit_metrics([])
        return {
            "mine": [str(d) for d in mine],
            "metrics": [
                {"text": _plain(str(m)), "method": _method(m.metric_method), "value": m.value}
                for m in store.store
            ],
            "keys": sorted(store.cache),
            "encoded": _plain(json.dumps(store.store + [direct], cls=MetricEncoder)),
            "problems": problems,
            "direct": [direct.name, direct.unit, direct.dimension_names, direct.dimension_values],
        }


    def handle(data, context):
        if data is None:
            return None
        command = data[0]["body"]
        if command == "store":
            return [json.dumps(_store(context))]
        if command == "timeit":
            return [json.dumps({"sum": timed_sum(2, 3), "name": timed_sum.__name__})]
        if command == "service":
            same = PredictionException is util.PredictionException
            return [json.dumps({"metric": PREDICTION_METRIC, "same_class": same})]
        if command == "raise":
            raise PredictionException("raised through ts.service", 409)
        if command == "heavy":
            found = {}
            for name in HEAVY:
                try:
                    importlib.import_module(name)
                    found[name] = "imported"
                except ImportError as exc:
                    found[name] = isinstance(exc, ModuleNotFoundError)
            return [json.dumps(found)]
        if command == "deepspeed":
            handler = BaseDeepSpeedHandler()
            handler.initialize(context)
            return [json.dumps({"device": handler.device, "initialized": handler.initialized})]
        return ["unknown " + command]
    """
)

LEGACY_COMMANDS = ["store", "timeit", "service", "raise", "heavy", "deepspeed"]


def test_legacy_metrics_service_timeit_and_heavy_modules(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    archive = build_archive(tmp_path / "legacy", {"legacy.py": LEGACY}, manifest("legacy.py"))
    arguments = ["--content-type", "text/plain"]
    for command in LEGACY_COMMANDS:
        arguments += ["--data", command]
    ours, theirs, document = run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "legacy.py",
        arguments, [[command.encode()] for command in LEGACY_COMMANDS],
    )  # fmt: skip
    assert not isinstance(theirs, str), theirs
    by_command = dict(zip(LEGACY_COMMANDS, zip(ours, theirs, strict=True), strict=True))
    # The one deliberate difference: upstream's @timeit calls time.clock (gone since
    # Python 3.8), so every decorated call fails there; ours returns the result.
    mine, upstream = by_command.pop("timeit")
    assert upstream.status == 503
    assert (mine["status"], json.loads(mine["body"])) == (200, {"sum": 5, "name": "timed_sum"})
    compare_responses(
        [mine for mine, _ in by_command.values()], [up for _, up in by_command.values()]
    )

    store = json.loads(by_command["store"][0]["body"])
    # Only add_counter honours its dimensions; the others keep them as the metric method.
    assert store["mine"] == ["Kind:a", "ModelName:m", "Level:Model"]
    assert [metric["method"] for metric in store["metrics"][:2]] == ["counter", ["Where:here"]]
    assert "Latency.Milliseconds:3.5|#ModelName:m,Level:Model|" in store["metrics"][1]["text"]
    assert len(store["problems"]) == 3
    heavy = json.loads(by_command["heavy"][0]["body"])
    assert len(heavy) == 8 and set(heavy.values()) == {True}  # ModuleNotFoundError, both
    assert by_command["raise"][0]["status"] == 409
    # Same metric lines, but for the PredictionTime of the timeit request (failed upstream).
    upstream_metrics = json.loads((tmp_path / "upstream" / "metrics.json").read_text())
    timeit_id = mine["request_id"]
    our_metrics = [line for line in document["metrics"] if not line.endswith(timeit_id)]
    assert normalized_metrics(our_metrics) == normalized_metrics(upstream_metrics)
    assert any(line.startswith("[METRICS]Hits.Count:2|#Kind:a,") for line in our_metrics)
    assert any(line.startswith("[METRICS]Direct.Milliseconds:0|#A:b|") for line in our_metrics)


LEGACY_SERVICE = source(
    """
    import json

    from ts.model_service.model_service import SingleNodeService


    class LegacyService(SingleNodeService):
        # TorchServe instantiates handler classes without arguments.
        def __init__(self):
            super().__init__("legacy", ".", None)

        def _preprocess(self, data):
            return [{"in": repr(value)} for value in data]

        def _inference(self, data):
            return [dict(item, seen=len(data)) for item in data]

        def _postprocess(self, data):
            return json.dumps({"rows": data, "signature": self.signature(), "ping": self.ping()})
    """
)

SIGNATURE = json.dumps(
    {"input_type": "application/json", "inputs": [{"data_name": "data"}], "outputs": []}
)


def test_legacy_model_service(
    tmp_path: Path, cache: Path, upstream_python: Path, upstream_metrics_config: Path
) -> None:
    document = json.loads(manifest("legacy_service.py", name="legacy"))
    document["Model"] = {"Signature": "signature.json"}  # the MMS-era manifest entry
    archive = build_archive(
        tmp_path / "service",
        {"legacy_service.py": LEGACY_SERVICE, "signature.json": SIGNATURE},
        json.dumps(document, indent=2),
    )
    (tmp_path / "literal.bin").write_bytes(b"{'a': (1, 2), 'b': None}")
    (tmp_path / "other.bin").write_bytes(b"[3, 4]")
    arguments = ["--content-type", "application/json", "--data", '{"k": [1, 2]}']
    arguments += ["--input", f"data=@{tmp_path / 'literal.bin'}"]
    arguments += ["--input", f"body=@{tmp_path / 'other.bin'}"]
    # mar run sends the --input requests first, then --data; every part is declared JSON,
    # so the Python literal fails to decode and reaches the handler as bytes.
    values = [[b"{'a': (1, 2), 'b': None}"], [b"[3, 4]"], [b'{"k": [1, 2]}']]
    ours, theirs, _ = run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive,
        "legacy_service.py", arguments, values,
    )  # fmt: skip
    compare_responses(ours, theirs)
    answers = [json.loads(item["body"]) for item in ours]
    assert [answer["rows"][0]["in"] for answer in answers] == [
        "{'a': (1, 2), 'b': None}",  # bytes of the signature's input: a Python literal
        "[3, 4]",
        "{'k': [1, 2]}",
    ]
    assert answers[0]["signature"]["inputs"] == [{"data_name": "data"}]


STREAMER = source(
    """
    import threading

    import torch
    from ts.handler_utils.hf_batch_streamer import TextIteratorStreamerBatch
    from ts.handler_utils.utils import send_intermediate_predict_response

    WORDS = ["<p>", "Hello", " world", ",", " how", " are", " you", "?", "\\n", " Fine", "!"]


    class WordTokenizer:
        # What TextIteratorStreamer needs of a tokenizer: decode(ids, **kwargs).
        def decode(self, ids, **kwargs):
            ids = [ids] if isinstance(ids, int) else ids
            text = "".join(WORDS[i] for i in ids)
            return text.upper() if kwargs.get("shout") else text


    def handle(data, context):
        if data is None:
            return None
        plans = [[int(token) for token in row["body"].split()] for row in data]
        width = max(len(plan) for plan in plans)
        plans = [plan + [10] * (width - len(plan)) for plan in plans]
        shout = context.get_request_header(0, "shout") == "yes"
        streamer = TextIteratorStreamerBatch(
            WordTokenizer(), len(plans), skip_prompt=True, timeout=60, shout=shout
        )
        try:
            streamer.put(torch.zeros((len(plans) + 1, 1), dtype=torch.long))
        except ValueError as exc:
            mismatch = str(exc)

        def generate():
            streamer.put(torch.zeros((len(plans), 2), dtype=torch.long))  # the prompt
            for step in range(width):
                streamer.put(torch.tensor([[plan[step]] for plan in plans]))
            streamer.end()

        producer = threading.Thread(target=generate)
        producer.start()
        steps = 0
        for texts in streamer:
            steps += 1
            send_intermediate_predict_response(
                [item["text"] for item in texts],
                context.request_ids,
                "Intermediate Prediction success",
                200,
                context,
            )
        producer.join()
        return [f"{steps} steps; {mismatch}"] * len(plans)
    """
)


@pytest.fixture(scope="session")
def transformers_overlay(tmp_path_factory: pytest.TempPathFactory, upstream_python: Path) -> Path:
    """This venv's transformers (and what it needs), for the upstream worker's path."""
    from tests.support.overlay import build_overlay

    found = sorted((upstream_python.parents[1] / "lib").glob("python3*/site-packages"))
    return build_overlay(tmp_path_factory.mktemp("transformers"), ["transformers"], found[0])


def test_hf_batch_streamer_streams_each_request(
    tmp_path: Path,
    cache: Path,
    upstream_python: Path,
    upstream_metrics_config: Path,
    transformers_overlay: Path,
) -> None:
    archive = build_archive(tmp_path / "stream", {"stream.py": STREAMER}, manifest("stream.py"))
    prompts = ["1 2 3 4 5 6 7 8 9 10", "1 7 8 9", "4 5"]
    arguments = ["--content-type", "text/plain", "--batch-size", "2", "-H", "shout: no"]
    for prompt in prompts:
        arguments += ["--data", prompt]
    ours, theirs, _ = run_both(
        tmp_path, cache, upstream_python, upstream_metrics_config, archive, "stream.py",
        arguments, [[prompt.encode()] for prompt in prompts], batch_size=2,
        extra_path=(transformers_overlay,),
    )  # fmt: skip
    compare_responses(ours, theirs)
    assert all(item["status"] == 200 for item in ours)
    first = ours[0]["body"]
    assert first.startswith(b"Hello world, how are you?\n Fine!11 steps; ")
    assert b"batch size is set to 2 but got input tensor of shape torch.Size([3, 1])" in first


@pytest.mark.parametrize(
    ("handler", "files", "module", "missing"),
    [
        (
            "vllm_handler",
            {"notes.txt": "a built-in handler"},
            "ts.torch_handler.vllm_handler",
            "vllm",
        ),
        (
            "ds.py",
            {"ds.py": "from ts.handler_utils.distributed.deepspeed import get_ds_engine\n"},
            "ts.handler_utils.distributed.deepspeed",
            # Upstream hides the ImportError behind its fall-back to a built-in handler.
            "ts.torch_handler.ds",
        ),
    ],
    ids=["builtin-vllm-handler", "deepspeed-helper"],
)
def test_heavy_stack_modules_fail_to_load_with_the_fix(
    tmp_path: Path,
    cache: Path,
    upstream_python: Path,
    upstream_metrics_config: Path,
    handler: str,
    files: dict[str, str],
    module: str,
    missing: str,
) -> None:
    directory = build_archive(tmp_path / "heavy", files, manifest(handler), fmt="dir")
    done = run_mar([directory, "--data", "x"], cache=cache)
    assert done.returncode == 4, done.stderr  # a load failure
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"mar: error: the model failed to load: HeavyStackMissing: {module} ")
    assert "Add torchserve==0.12.0 and " in last and "requirements file" in last
    theirs = run_upstream(
        upstream_python, directory, handler=handler, requests=[], batch_size=1,
        metrics_config=upstream_metrics_config, work=tmp_path / "upstream",
    )  # fmt: skip
    assert theirs == f"ModuleNotFoundError: No module named '{missing}'"


FAILING_STAGE = source(
    """
    from ts.handler_utils.micro_batching import MicroBatching


    class Failing:
        def __init__(self):
            self.handle = MicroBatching(self, micro_batch_size=1)

        def initialize(self, context):
            pass

        def preprocess(self, data):
            return data

        def inference(self, data):
            if data[0]["body"] == b"boom":
                raise ValueError("inference failed on purpose")
            return data

        def postprocess(self, data):
            return [bytes(row["body"]) for row in data]

        def _is_describe(self):
            return False

        def _is_explain(self):
            return False
    """
)


def test_a_failing_micro_batch_fails_the_batch_instead_of_hanging(
    tmp_path: Path, cache: Path
) -> None:
    # Upstream loses the micro-batch and waits forever (until TorchServe's response
    # timeout); ours answers the batch with the stage's exception, and the next batch works.
    archive = build_archive(tmp_path / "fail", {"fail.py": FAILING_STAGE}, manifest("fail.py"))
    arguments: list[str | Path] = [archive, "--format", "json", "--batch-size", "3"]
    for body in ("a", "boom", "c", "d"):
        arguments += ["--data", body]
    done = run_mar(arguments, cache=cache, timeout=60)
    assert done.returncode == 1, done.stderr
    answers = responses_of(done.json())
    assert [item["status"] for item in answers] == [503, 503, 503, 200]
    assert answers[3]["body"] == b"d"
    assert "ValueError: inference failed on purpose" in done.stderr
