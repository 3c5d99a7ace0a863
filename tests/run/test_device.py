"""--gpu / --device: parsing, and the worker's check with an injected device probe, so the
CUDA path is exercised on machines without a GPU."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mar_tools.core.errors import UsageError
from mar_tools.run.device import DeviceChoice
from mar_tools.worker.devices import DeviceUnavailable, check_device, gpu_id_for


@dataclass
class FakeProbe:
    """A machine with *cuda* CUDA devices and MPS when *mps*."""

    cuda: int = 0
    mps: bool = False

    def cuda_device_count(self) -> int:
        return self.cuda

    def mps_available(self) -> bool:
        return self.mps

    def torch_description(self) -> str:
        return "torch 9.9 (fake)"


@pytest.mark.parametrize(
    ("gpu", "device", "expected"),
    [
        (None, None, DeviceChoice("cpu", None, "--device cpu")),
        (2, None, DeviceChoice("cuda", 2, "--gpu 2")),
        (None, "cuda", DeviceChoice("cuda", 0, "--device cuda")),
        (None, "CUDA:3", DeviceChoice("cuda", 3, "--device CUDA:3")),
        (None, "mps", DeviceChoice("mps", None, "--device mps")),
        (None, "cpu", DeviceChoice("cpu", None, "--device cpu")),
    ],
)
def test_device_choices(gpu: int | None, device: str | None, expected: DeviceChoice) -> None:
    assert DeviceChoice.from_options(gpu, device) == expected


def test_gpu_ids_as_torchserve_passes_them() -> None:
    assert DeviceChoice("cuda", 3).gpu_id == gpu_id_for("cuda", 3) == 3
    assert DeviceChoice("mps").gpu_id == gpu_id_for("mps", None) == 0
    assert DeviceChoice().gpu_id is gpu_id_for("cpu", None) is None


@pytest.mark.parametrize(
    ("gpu", "device", "message"),
    [
        (0, "cpu", "give either --gpu or --device, not both."),
        (-1, None, "--gpu -1: a GPU id is 0 or more."),
        (None, "tpu", "--device 'tpu' is not a device."),
        (None, "mps:1", "--device 'mps:1' is not a device."),
    ],
)
def test_bad_device_options(gpu: int | None, device: str | None, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        DeviceChoice.from_options(gpu, device)
    assert caught.value.message == message


def test_cpu_needs_nothing() -> None:
    check_device("cpu", None, "--device cpu", FakeProbe())


def test_cuda_device_that_exists() -> None:
    check_device("cuda", 1, "--gpu 1", FakeProbe(cuda=2))


def test_no_cuda_is_an_error_not_a_cpu_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with pytest.raises(DeviceUnavailable) as caught:
        check_device("cuda", 0, "--gpu 0", FakeProbe(cuda=0))
    assert caught.value.message == "--gpu 0: no CUDA device is available to torch 9.9 (fake)."
    assert caught.value.hint.startswith("run on the CPU with --device cpu")


def test_gpu_index_out_of_range_names_the_valid_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    with pytest.raises(DeviceUnavailable) as caught:
        check_device("cuda", 2, "--gpu 2", FakeProbe(cuda=2))
    assert caught.value.message == (
        "--gpu 2: only 2 CUDA devices are visible (CUDA_VISIBLE_DEVICES='0,1'); "
        "valid GPU ids are 0..1."
    )


def test_mps_must_be_available() -> None:
    check_device("mps", None, "--device mps", FakeProbe(mps=True))
    with pytest.raises(DeviceUnavailable, match=r"--device mps: MPS is not available"):
        check_device("mps", None, "--device mps", FakeProbe())
