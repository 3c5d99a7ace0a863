"""Which device the model may use, checked before the handler runs.

``--gpu N`` / ``--device cuda:N`` become TorchServe's ``gpu_id = N`` (a physical index; the
worker's ``CUDA_VISIBLE_DEVICES`` is not narrowed, as in TorchServe), ``--device mps``
``gpu_id = 0``, and ``--device cpu`` ``gpu_id = None``. A device that does not exist is an
error, never a silent fall-back to the CPU. The probe is an argument so that tests can check
the CUDA path on machines without a GPU.
"""

from __future__ import annotations

import os
from typing import Any, Protocol


class DeviceUnavailable(Exception):
    """The requested device does not exist here; ``hint`` says what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class DeviceProbe(Protocol):
    """What the worker needs to know about the machine's accelerators."""

    def cuda_device_count(self) -> int: ...

    def mps_available(self) -> bool: ...

    def torch_description(self) -> str: ...


class TorchProbe:
    """The real probe: asks the model interpreter's torch (imported on first use)."""

    def _torch(self) -> Any:
        import torch

        return torch

    def cuda_device_count(self) -> int:
        torch = self._torch()
        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0

    def mps_available(self) -> bool:
        return bool(self._torch().backends.mps.is_available())

    def torch_description(self) -> str:
        torch = self._torch()
        cuda = torch.version.cuda
        build = f"built for CUDA {cuda}" if cuda else "a CPU-only build"
        return f"torch {torch.__version__} ({build})"


def gpu_id_for(kind: str, index: int | None) -> int | None:
    """The ``gpu_id`` TorchServe would pass for a device: None on the CPU."""
    if kind == "cuda":
        return index or 0
    if kind == "mps":
        return 0
    return None


def check_device(kind: str, index: int | None, flag: str, probe: DeviceProbe) -> None:
    """Raise :class:`DeviceUnavailable` unless device *kind*/*index* exists.

    *flag* is how the user asked for it (``--gpu 1``), used in the message.
    """
    if kind == "cpu":
        return
    if kind == "mps":
        if not probe.mps_available():
            raise DeviceUnavailable(
                f"{flag}: MPS is not available to {probe.torch_description()}.",
                "MPS needs Apple silicon and a torch build with MPS; use --device cpu.",
            )
        return
    count = probe.cuda_device_count()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    narrowed = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    if count == 0:
        raise DeviceUnavailable(
            f"{flag}: no CUDA device is available to {probe.torch_description()}{narrowed}.",
            "run on the CPU with --device cpu, or install a CUDA build of torch in the "
            "model's environment on a machine with an NVIDIA GPU.",
        )
    wanted = index or 0
    if wanted >= count:
        plural = "device is" if count == 1 else "devices are"
        raise DeviceUnavailable(
            f"{flag}: only {count} CUDA {plural} visible{narrowed}; "
            f"valid GPU ids are 0..{count - 1}.",
            f"pick one of 0..{count - 1} with --gpu N.",
        )
