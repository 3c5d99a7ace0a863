"""``--gpu`` on a machine with CUDA (skipped elsewhere; the CUDA path without a GPU is
covered by test_device.py and test_worker.py with an injected probe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.run.support import build_archive, manifest, run_mar, source

pytestmark = pytest.mark.gpu

DEVICE_REPORT = source(
    """
    import torch
    from ts.torch_handler.base_handler import BaseHandler


    class Report(BaseHandler):
        def preprocess(self, data):
            return torch.tensor([row["body"] for row in data], dtype=torch.float32)

        def postprocess(self, data):
            return [{"device": str(self.device), "gpu_id": self.context.system_properties["gpu_id"],
                     "out": row, "on": str(data.device)} for row in data.tolist()]
    """
)


@pytest.fixture(scope="module")
def cuda_count() -> int:
    torch = pytest.importorskip("torch")
    if torch.version.cuda is None:
        pytest.skip(f"torch {torch.__version__} is a CPU-only build (install a CUDA build)")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    return int(torch.cuda.device_count())


def test_gpu_runs_the_model_on_that_device(tmp_path: Path, cache: Path, cuda_count: int) -> None:
    from tests.run.models import Doubler, torchscript

    archive = build_archive(
        tmp_path / "gpu",
        {"report.py": DEVICE_REPORT, "model.pt": torchscript(Doubler())},
        manifest("report.py", serialized_file="model.pt"),
    )
    last = cuda_count - 1
    done = run_mar(
        [archive, "--gpu", str(last), "--content-type", "application/json", "--data", "[1, 2]"],
        cache=cache,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "device": f"cuda:{last}",
        "gpu_id": last,
        "out": [3.0, 5.0],
        "on": f"cuda:{last}",
    }


def test_gpu_out_of_range(tmp_path: Path, cache: Path, cuda_count: int) -> None:
    archive = build_archive(
        tmp_path / "m", {"h.py": "def handle(d, c):\n    return d\n"}, manifest("h.py")
    )
    done = run_mar([archive, "--gpu", str(cuda_count)], cache=cache)
    assert done.returncode == 6
    assert f"--gpu {cuda_count}: only {cuda_count} CUDA device" in done.stderr
