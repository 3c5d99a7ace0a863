"""Which GPU each worker gets: TorchServe's ``gpu_id`` assignment.

Without ``deviceIds`` every new worker of every model takes the next GPU from one global
counter (``++counter % number_of_gpu``: with several GPUs the first worker gets GPU 1);
a model with ``deviceIds`` takes them round robin from its own counter. CPU models, and a
server with no GPU, get ``None``. The GPU count is ``number_of_gpu`` when set, else what the
injected probe finds (the default probe asks ``nvidia-smi``; torch is never imported in the
server process).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

GpuProbe = Callable[[], int]


def nvidia_smi_probe() -> int:
    """The number of NVIDIA GPUs ``nvidia-smi --list-gpus`` lists (0 without the tool)."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return 0
    try:
        done = subprocess.run(
            [tool, "--list-gpus"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    if done.returncode != 0:
        return 0
    return sum(1 for line in done.stdout.splitlines() if line.startswith("GPU "))


class GpuAssigner:
    """Hands out ``gpu_id``s as workers start (see the module docstring)."""

    def __init__(self, count: int) -> None:
        self.count = max(0, count)
        self._counter = 0
        self._per_model: dict[str, int] = {}

    def next_gpu(
        self, model_key: str, device_type: str, device_ids: tuple[int, ...] | None
    ) -> int | None:
        """The ``gpu_id`` of the next worker of *model_key*, or None for the CPU."""
        if self.count == 0 or device_type != "gpu":
            return None
        if device_ids:
            index = self._per_model.get(model_key, 0)
            self._per_model[model_key] = (index + 1) % len(device_ids)
            return device_ids[index]
        self._counter = (self._counter + 1) % self.count
        return self._counter
