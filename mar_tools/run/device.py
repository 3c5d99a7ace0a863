"""``--gpu N`` / ``--device cpu|cuda|cuda:N|mps`` as one device choice."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mar_tools.core.errors import UsageError

_DEVICE = re.compile(r"^(?P<kind>cpu|mps|cuda)(?::(?P<index>\d+))?$")


@dataclass(frozen=True)
class DeviceChoice:
    """A device kind, its index (CUDA only) and how the user asked (for messages)."""

    kind: str = "cpu"
    index: int | None = None
    flag: str = "--device cpu"

    @classmethod
    def from_options(cls, gpu: int | None, device: str | None) -> DeviceChoice:
        """Combine ``--gpu`` and ``--device``; giving both is a usage error."""
        if gpu is not None and device is not None:
            raise UsageError("give either --gpu or --device, not both.")
        if gpu is not None:
            if gpu < 0:
                raise UsageError(f"--gpu {gpu}: a GPU id is 0 or more.")
            return cls("cuda", gpu, f"--gpu {gpu}")
        if device is None:
            return cls()
        match = _DEVICE.match(device.strip().lower())
        if match is None or (match["index"] is not None and match["kind"] != "cuda"):
            raise UsageError(
                f"--device {device!r} is not a device.",
                hint="use cpu, cuda, cuda:N or mps.",
            )
        index = int(match["index"]) if match["index"] is not None else None
        if match["kind"] == "cuda" and index is None:
            index = 0
        return cls(match["kind"], index, f"--device {device}")

    @property
    def gpu_id(self) -> int | None:
        """TorchServe's ``gpu_id`` for this device (None on the CPU)."""
        if self.kind == "cuda":
            return self.index
        if self.kind == "mps":
            return 0
        return None
