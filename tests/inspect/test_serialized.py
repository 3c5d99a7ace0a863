"""What a serialized file is and which tensors it holds, for every form torch and
safetensors write, read without unpickling; and the tensors' bytes, found where they are."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from mar_tools.core.archive import open_archive
from mar_tools.inspect.serialized import describe
from mar_tools.inspect.tensors import TensorSummary
from mar_tools.inspect.weights_file import WeightsFile, describe_member
from tests.inspect.models import Weights
from tests.validate.builders import write_dir, write_tgz, write_zip

NET = [("scale", "bfloat16", (2,)), ("fc.weight", "float32", (2, 3)), ("fc.bias", "float32", (2,))]


@pytest.mark.parametrize(
    ("form", "kind", "container", "classes"),
    [
        ("state_dict", "state_dict", "torch-zip", ()),
        ("scripted", "torchscript", "torch-zip",
         ("__torch__.tests.inspect.models.Net", "__torch__.torch.nn.modules.linear.Linear")),
        ("whole_model", "pickled_module", "torch-zip",
         ("tests.inspect.models.Net", "torch.nn.modules.linear.Linear")),
        ("legacy", "state_dict", "torch-legacy", ()),
        ("safetensors", "safetensors", "safetensors", ()),
    ],
)  # fmt: skip
def test_every_form_and_its_tensors(
    weights: Weights, form: str, kind: str, container: str, classes: tuple[str, ...]
) -> None:
    info = describe(io.BytesIO(getattr(weights, form)))
    assert (info.kind, info.container, info.classes, info.note) == (kind, container, classes, None)
    assert info.tensors is not None
    assert [(t.name, t.dtype, t.shape) for t in info.tensors] == NET
    summary = TensorSummary.of(info.tensors)
    assert (summary.count, summary.parameters, summary.bytes) == (3, 10, 36)
    assert summary.dtypes == (("float32", 2), ("bfloat16", 1))


def test_dtypes_without_a_storage_class_and_strided_views(weights: Weights) -> None:
    info = describe(io.BytesIO(weights.odd_dtypes))
    assert info.tensors is not None
    found = [(t.name, t.dtype, t.shape, t.stride, t.is_contiguous) for t in info.tensors]
    assert found == [
        ("f8", "float8_e4m3fn", (2,), (1,), True),
        ("u16", "uint16", (3,), (1,), True),
        ("c64", "complex64", (1,), (1,), True),
        ("view", "int64", (4, 3), (1, 4), False),
    ]


@pytest.mark.parametrize(
    ("data", "kind", "container", "note"),
    [
        (os.urandom(64), "other", "unknown", "not a torch, pickle or safetensors file"),
        (pickle.dumps({"a": [1, 2]}, 4), "other", "pickle", None),
        (b"\x80\x04\x95", "other", "pickle", "a pickle that cannot be read"),
        (b"PK\x03\x04garbage", "other", "zip", "an unreadable zip"),
    ],
    # Fixed ids: random bytes would name the case differently in each pytest-xdist worker.
    ids=["random bytes", "a pickle", "a truncated pickle", "a broken zip"],
)
def test_files_that_are_not_weights(
    data: bytes, kind: str, container: str, note: str | None
) -> None:
    info = describe(io.BytesIO(data))
    assert (info.kind, info.container) == (kind, container)
    assert (info.note or "").startswith(note or "")


def test_a_zip_without_data_pkl() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.onnx", b"x")
    info = describe(buffer)
    assert (info.kind, info.container, info.note) == (
        "other",
        "zip",
        "a zip without a torch data.pkl",
    )


def values_of(view_path: Path, name: str) -> dict[str, bytes]:
    with open_archive(view_path) as view:
        member = view.find(name)
        assert member is not None
        with WeightsFile(view, member) as weights:
            assert weights.info.tensors is not None
            return {t.name: b"".join(weights.pieces(t) or [b"?"]) for t in weights.info.tensors}


@pytest.mark.parametrize("form", ["state_dict", "scripted", "whole_model", "legacy", "safetensors"])
@pytest.mark.parametrize("container", ["stored", "deflated", "tgz", "dir"])
def test_tensor_bytes_from_every_form_and_container(
    weights: Weights, tmp_path: Path, form: str, container: str
) -> None:
    import torch

    files = {"w.bin": getattr(weights, form), "pad.bin": os.urandom(2 << 20)}
    path = tmp_path / "a"
    if container == "tgz":
        write_tgz(path, files)
    elif container == "dir":
        write_dir(path, files)
    else:
        method = zipfile.ZIP_STORED if container == "stored" else zipfile.ZIP_DEFLATED
        write_zip(path, files, method)
    found = values_of(path, "w.bin")
    expected = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4
    assert found["fc.weight"] == expected.numpy().tobytes()
    assert found["scale"] == torch.ones(2, dtype=torch.bfloat16).view(torch.uint8).numpy().tobytes()


def test_strided_tensor_bytes_in_row_major_order(weights: Weights, tmp_path: Path) -> None:
    import torch

    path = write_zip(tmp_path / "a.zip", {"w.pt": weights.odd_dtypes})
    found = values_of(path, "w.pt")
    view = torch.arange(12, dtype=torch.int64).reshape(3, 4).t().contiguous()
    assert found["view"] == view.numpy().tobytes()


@pytest.mark.parametrize("form", ["state_dict", "scripted", "whole_model", "legacy", "safetensors"])
def test_described_from_the_start_of_a_compressed_member(
    weights: Weights, tmp_path: Path, form: str
) -> None:
    """A DEFLATED member is described from the first bytes of its stream (TorchScript, whose
    data.pkl comes after its storages, from a copy), exactly as in place."""
    data = getattr(weights, form)
    path = write_zip(tmp_path / "a.zip", {"w.bin": data}, zipfile.ZIP_DEFLATED)
    with open_archive(path) as view:
        member = view.find("w.bin")
        assert member is not None and member.compress_type == zipfile.ZIP_DEFLATED
        found = describe_member(view, member)
    expected = describe(io.BytesIO(data))
    assert (found.kind, found.container, found.tensors, found.classes) == (
        expected.kind, expected.container, expected.tensors, expected.classes
    )  # fmt: skip


def test_a_likely_bomb_is_not_copied_out(tmp_path: Path) -> None:
    """A compressed member that starts like a torch zip but expands 1000-fold is described
    without being inflated into a temporary file."""
    bomb = b"PK\x03\x04" + bytes(64 << 20)
    path = write_zip(tmp_path / "bomb.zip", {"w.pt": bomb}, zipfile.ZIP_DEFLATED)
    with open_archive(path) as view:
        member = view.find("w.pt")
        assert member is not None
        info = describe_member(view, member)
    assert (info.kind, info.tensors) == ("other", None)
    assert info.note == (
        f"{path}: w.pt expands {member.size / member.compressed_size:.0f} times (more than "
        "200); it is not read (`mar validate` reports it)."
    )
