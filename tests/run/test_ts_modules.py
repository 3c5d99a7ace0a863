"""The handler-facing ``ts`` modules added for issue 14, called directly: the parts of their
contract that the comparisons with upstream (``test_upstream_modules.py``) cannot reach
(thread counts, refusals, the modules that need a heavy stack)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from mar_tools.compat.ts.context import Context
from mar_tools.compat.ts.handler_utils.micro_batching import MicroBatching
from mar_tools.compat.ts.model_service.model_service import ModelService, SingleNodeService
from mar_tools.compat.ts.utils.timeit_decorator import timeit

COMPAT = Path(__file__).resolve().parents[2] / "mar_tools" / "compat"


class Recorder:
    """A handler whose steps record the thread and micro-batch they ran in."""

    def __init__(self) -> None:
        self.mb = MicroBatching(self, micro_batch_size=2)
        self.seen: list[tuple[str, int | None, str]] = []
        self.lock = threading.Lock()

    def _note(self, step: str) -> None:
        with self.lock:
            self.seen.append((step, self.mb.get_micro_batch_idx(), threading.current_thread().name))

    def preprocess(self, data: list[int]) -> list[int]:
        self._note("preprocess")
        return [value * 10 for value in data]

    def inference(self, data: list[int]) -> list[int]:
        self._note("inference")
        return [value + 1 for value in data]

    def postprocess(self, data: list[int]) -> list[int]:
        self._note("postprocess")
        return data


@pytest.fixture
def recorder() -> Any:
    handler = Recorder()
    yield handler
    handler.mb.shutdown()


@pytest.mark.parametrize(("size", "slices"), [(2, 3), (4, 2), (1, 5), (10, 1)])
def test_micro_batches_cover_the_batch_in_order(recorder: Recorder, size: int, slices: int) -> None:
    recorder.mb.micro_batch_size = size
    assert recorder.mb.handle([1, 2, 3, 4, 5]) == [11, 21, 31, 41, 51]
    indexes = {index for _, index, _ in recorder.seen}
    assert indexes == set(range(slices))
    assert recorder.mb.get_micro_batch_idx() is None  # only stage threads have one
    assert recorder.mb.handle([]) == []


def test_parallelism_scales_each_stage(recorder: Recorder) -> None:
    mb = recorder.mb
    assert {stage: len(group) for stage, group in mb.thread_groups.items()} == {
        "preprocess": 1,
        "inference": 1,
        "postprocess": 1,
    }
    mb.parallelism = {"preprocess": 3, "postprocess": 2}
    mb.parallelism = {"preprocess": 2}
    assert mb.parallelism == {"preprocess": 2, "postprocess": 2}
    assert [len(group) for group in mb.thread_groups.values()] == [2, 1, 2]
    copy = mb.parallelism
    copy["inference"] = 5
    assert "inference" not in mb.parallelism  # the property is a copy
    assert mb.handle(list(range(9))) == [10 * value + 1 for value in range(9)]
    threads = {name for step, _, name in recorder.seen if step == "preprocess"}
    assert 1 <= len(threads) <= 2
    assert set(mb.queues) == {f"{s}_{d}" for s in ("preprocess", "inference", "postprocess")
                              for d in ("in", "out")}  # fmt: skip
    assert mb.queues["preprocess_out"] is mb.queues["inference_in"]


def test_bad_parallelism_is_refused(recorder: Recorder) -> None:
    with pytest.raises(AssertionError, match="unknown micro-batching stages"):
        recorder.mb.parallelism = {"decode": 1}
    with pytest.raises(AssertionError, match="must be >= 0"):
        recorder.mb.parallelism = {"inference": -1}


def test_a_stage_without_threads_refuses_instead_of_waiting(recorder: Recorder) -> None:
    recorder.mb.parallelism = {"inference": 0}
    with pytest.raises(RuntimeError, match=r"\['inference'\] have no thread"):
        recorder.mb.handle([1])
    recorder.mb.parallelism = {"inference": 1}
    assert recorder.mb.handle([1]) == [11]


def test_shutdown_stops_every_thread(recorder: Recorder) -> None:
    recorder.mb.parallelism = {"preprocess": 3}
    workers = [w for group in recorder.mb.thread_groups.values() for w in group]
    recorder.mb.shutdown()
    assert not any(worker.is_alive() for worker in workers)
    assert all(worker.daemon and worker.thread is worker for worker in workers)


def test_timeit_prints_the_durations_and_returns_the_result(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @timeit
    def add(a: int, b: int = 1) -> int:
        return a + b

    assert add(2, b=5) == 7
    assert add.__name__ == "add"
    printed = capsys.readouterr().out
    assert printed.startswith("func: 'add' took a total of ")
    assert " sec to run and " in printed and printed.endswith(" sec of CPU time\n\n")


def _context(model_dir: Path, manifest: Any) -> Context:
    return Context("m", str(model_dir), manifest, 1, None, "0.12.0")


def test_model_service_needs_its_signature_file(tmp_path: Path) -> None:
    service = ModelService("m", str(tmp_path), None)
    manifest = {"Model": {"Signature": "signature.json"}}
    with pytest.raises(ValueError, match=r"^Signature file is not found\.$"):
        service.initialize(_context(tmp_path, manifest))
    (tmp_path / "signature.json").write_text('{"input_type": "text/plain", "inputs": []}')
    service.initialize(_context(tmp_path, manifest))
    assert service.signature() == {"input_type": "text/plain", "inputs": []}
    assert service.ping() is None and service.inference([1]) is None


def test_single_node_service_without_overrides_echoes(tmp_path: Path) -> None:
    # Upstream's abstract methods are not enforced: a bare subclass instantiates.
    (tmp_path / "signature.json").write_text(
        json.dumps({"input_type": "application/json", "inputs": [{"data_name": "x"}]})
    )
    service = SingleNodeService("m", str(tmp_path), None)
    service.initialize(_context(tmp_path, {"Model": {"Signature": "signature.json"}}))
    assert service.handle([{"x": bytearray(b"[1, (2, 3)]")}], None) == [[1, (2, 3)]]
    assert service.handle([{"x": None, "body": "text"}], None) == ["text"]


HEAVY = {
    "ts.handler_utils.distributed.deepspeed": ("DeepSpeed", "deepspeed", "deepspeed"),
    "ts.handler_utils.distributed.pt_pippy": ("PiPPy", "torchpippy", "pippy"),
    "ts.handler_utils.preprocess.dali": ("NVIDIA DALI", "nvidia-dali-cuda120", "nvidia.dali"),
    "ts.torch_handler.dali_handler": ("NVIDIA DALI", "nvidia-dali-cuda120", "nvidia.dali"),
    "ts.torch_handler.dali_image_classifier": (
        "NVIDIA DALI",
        "nvidia-dali-cuda120",
        "nvidia.dali",
    ),
    "ts.torch_handler.vllm_handler": ("vLLM", "vllm", "vllm"),
    "ts.torch_handler.trt_llm_handler": ("TensorRT-LLM", "tensorrt-llm", "tensorrt_llm"),
    "ts.torch_handler.distributed.base_pippy_handler": ("PiPPy", "torchpippy", "pippy"),
}

IMPORT_ALL = """
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        out[name] = [type(exc).__name__, exc.name, str(exc), name in sys.modules]
print(json.dumps(out))
"""


def test_heavy_stack_modules_refuse_with_one_message() -> None:
    env = {**os.environ, "PYTHONPATH": str(COMPAT)}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, *HEAVY],
        capture_output=True, text=True, env=env, check=True, cwd=COMPAT.parent,
    )  # fmt: skip
    found = json.loads(done.stdout)
    assert set(found) == set(HEAVY)
    for module, (stack, requirement, import_name) in HEAVY.items():
        kind, name, message, cached = found[module]
        assert (kind, name, cached) == ("HeavyStackMissing", import_name, False)
        assert message == (
            f"{module} needs {stack}, which mar run's built-in ts package does not include. "
            f"Add torchserve==0.12.0 and {requirement} to the model's requirements file: "
            "with torchserve installed in the model's environment, its own ts package is "
            "used instead of the built-in one."
        )
