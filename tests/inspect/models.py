"""Tiny real models for the inspect, diff, extract and repack tests.

:func:`make_weights` saves explicit tensors with the real torch in every serialized form
(torch.save is deterministic for equal content, so outputs are stable); :func:`model_dir`
writes a model's source files; :func:`build` archives them with our archiver in one of the
four formats (``SOURCE_DATE_EPOCH`` fixed); :func:`build_upstream` with upstream 0.12.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch_model_archiver import ArchiveFormat, ArchiveSpec, build_archive

FORMATS = ("default", "zip-store", "tgz", "no-archive")
EPOCH = 1_700_000_000
HANDLER = """\
from ts.torch_handler.base_handler import BaseHandler


class MyHandler(BaseHandler):
    pass
"""
FUNCTION_HANDLER = "def predict(data, context):\n    return data\n"
MODEL = """\
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
"""
CONFIG = "batchSize: 4\nmaxBatchDelay: 50\nminWorkers: 1\nhandler:\n  threshold: 0.5\n"
REQUIREMENTS = "numpy>=1.0\n# pinned for the test\nrequests==2.0\n"


@dataclass(frozen=True)
class Weights:
    """One set of tensors, serialized every way a model archive may hold them."""

    state_dict: bytes
    scripted: bytes
    whole_model: bytes
    legacy: bytes
    safetensors: bytes
    odd_dtypes: bytes


def make_weights(shift: float = 0.0) -> Weights:
    """``fc.weight`` (float32, 2×3), ``fc.bias`` (float32), ``scale`` (bfloat16); *shift* is
    added to ``fc.weight[0, 0]``."""
    import torch

    net = _net_class()()
    with torch.no_grad():
        net.fc.weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4)
        net.fc.weight[0, 0] += shift
        net.fc.bias.copy_(torch.tensor([0.5, -0.5]))

    def saved(obj: object, **kwargs: Any) -> bytes:
        buffer = io.BytesIO()
        torch.save(obj, buffer, **kwargs)
        return buffer.getvalue()

    scripted = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net, torch.ones(1, 3))  # type: ignore[no-untyped-call]
        torch.jit.save(traced, scripted)
    odd = {
        "f8": torch.tensor([0.5, 1.0], dtype=torch.float8_e4m3fn),
        "u16": torch.tensor([1, 2, 3], dtype=torch.uint16),
        "c64": torch.tensor([1 + 2j], dtype=torch.complex64),
        "view": torch.arange(12, dtype=torch.int64).reshape(3, 4).t(),
    }
    return Weights(
        state_dict=saved(net.state_dict()),
        scripted=scripted.getvalue(),
        whole_model=saved(net),
        legacy=saved(net.state_dict(), _use_new_zipfile_serialization=False),
        safetensors=safetensors_file(net.state_dict()),
        odd_dtypes=saved(odd),
    )


def _net_class() -> Any:
    """The model class, made on first use (torch is imported only by tests that need it)
    and published as ``tests.inspect.models.Net`` so that ``torch.save(net)`` can pickle it."""
    if "Net" in globals():
        return globals()["Net"]
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)
            self.register_buffer("scale", torch.ones(2, dtype=torch.bfloat16))

        def forward(self, x: Any) -> Any:
            return self.fc(x)

    Net.__qualname__ = "Net"
    globals()["Net"] = Net
    return Net


def safetensors_file(tensors: dict[str, Any]) -> bytes:
    """The safetensors bytes of *tensors* (written by hand: the format is a JSON header)."""
    codes = {"float32": "F32", "bfloat16": "BF16", "int64": "I64"}
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, tensor in tensors.items():
        raw = tensor.contiguous().view(-1).view(__import__("torch").uint8).numpy().tobytes()
        dtype = str(tensor.dtype).removeprefix("torch.")
        header[name] = {
            "dtype": codes[dtype],
            "shape": list(tensor.shape),
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def model_dir(root: Path, weights: bytes, **files: str | bytes | None) -> Path:
    """Write a model's sources below *root*; *files* add, replace or (None) drop some."""
    contents: dict[str, str | bytes | None] = {
        "handler.py": HANDLER,
        "model.py": MODEL,
        "weights.pt": weights,
        "requirements.txt": REQUIREMENTS,
        "model-config.yaml": CONFIG,
        **files,
    }
    for name, data in contents.items():
        if data is None:
            continue
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            target.write_text(data)
        else:
            target.write_bytes(data)
    return root


def build(
    source: Path, export: Path, fmt: str, *, name: str = "m", version: str = "1.0", **spec: Any
) -> Path:
    """Archive the model in *source* with our archiver; return the output path."""
    options: dict[str, Any] = {
        "serialized_file": Path("weights.pt"),
        "model_file": Path("model.py"),
        "requirements_file": Path("requirements.txt"),
        "config_file": Path("model-config.yaml"),
        **spec,
    }
    result = build_archive(
        ArchiveSpec(
            model_name=name,
            handler=spec.pop("handler", "handler.py"),
            version=version,
            export_path=export,
            archive_format=ArchiveFormat(fmt),
            source_date_epoch=EPOCH,
            base_dir=source,
            **{key: value for key, value in options.items() if key != "handler"},
        ),
        jobs=1,
    )
    return result.path


def build_upstream(archiver: Path, source: Path, export: Path, fmt: str, name: str = "m") -> Path:
    """Archive the model in *source* with upstream torch-model-archiver 0.12."""
    export.mkdir(parents=True, exist_ok=True)
    argv = [
        str(archiver), "--model-name", name, "--handler", "handler.py", "-v", "1.0",
        "--serialized-file", "weights.pt", "--model-file", "model.py",
        "-r", "requirements.txt", "-c", "model-config.yaml",
        "--export-path", str(export), "--archive-format", fmt, "-f",
    ]  # fmt: skip
    subprocess.run(argv, cwd=source, check=True, capture_output=True)
    suffix = {"default": ".mar", "zip-store": ".mar", "tgz": ".tar.gz", "no-archive": ""}[fmt]
    return export / f"{name}{suffix}"
