"""The legitimate checkpoint corpus: tiny files saved by the real torch (and numpy), of every
kind a model archive holds, each with the warnings it must get (and no error).

Full-module pickles name their class ``model.Net``: :func:`model_module` makes a module
``model`` (the archive's model file) for the time of the save, so :data:`MODEL_TRUST`
(which trusts what ``model.py`` defines) is what the scan needs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import io
import pathlib
import pickle
import struct
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mar_tools.validate.pickle.policy import Trust
from tests.validate.pickle_asm import legacy_tar

GLOBALS = "pickle.non-weights-global"
FORMAT = "pickle.non-weights-format"

MODEL_SOURCE = """\
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU()
        )
        self.rnn = torch.nn.LSTM(2, 2)
        self.embed = torch.nn.Embedding(3, 2)
        self.head = torch.nn.Linear(2, 2)


class ScaledParameter(torch.nn.Parameter):
    pass
"""
MODEL_CLASSES = frozenset({("model", "Net"), ("model", "ScaledParameter")})
MODEL_TRUST = Trust(archive_class=lambda module, name: (module, name) in MODEL_CLASSES)


@dataclass(frozen=True)
class Legit:
    """A legitimate file: its name (the suffix says how it is read), bytes, and the codes of
    the warnings it must get."""

    name: str
    data: bytes
    warnings: frozenset[str] = frozenset()


@contextlib.contextmanager
def model_module(name: str = "model", source: str = MODEL_SOURCE) -> Iterator[types.ModuleType]:
    """The module *name* made from *source*, importable for the time of the block."""
    module = types.ModuleType(name)
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)  # our own source
    saved = sys.modules.get(name)
    sys.modules[name] = module
    try:
        yield module
    finally:
        if saved is None:
            del sys.modules[name]
        else:
            sys.modules[name] = saved


def make_legit() -> list[Legit]:
    """Every legitimate file (imports torch: slow, tests only)."""
    import numpy as np
    import torch

    warnings.simplefilter("ignore")
    torch.manual_seed(0)

    def saved(obj: object, **kwargs: Any) -> bytes:
        buffer = io.BytesIO()
        torch.save(obj, buffer, **kwargs)
        return buffer.getvalue()

    out: list[Legit] = []

    def add(name: str, data: bytes, *codes: str) -> None:
        out.append(Legit(name, data, frozenset(codes)))

    with model_module() as model:
        net = model.Net()
        add("module.pt", saved(net), GLOBALS)
        add("module-p4.pt", saved(net, pickle_protocol=4), GLOBALS, FORMAT)
        add("module-legacy.pt", saved(net, _use_new_zipfile_serialization=False), GLOBALS)
        scaled = model.ScaledParameter(torch.ones(2))
        add("parameter-subclass.pt", saved({"p": scaled}))  # torch drops the subclass
        state = net.state_dict()
        for protocol in (2, 3):
            add(f"state-dict-p{protocol}.pt", saved(state, pickle_protocol=protocol))
        for protocol in (4, 5):
            add(f"state-dict-p{protocol}.pt", saved(state, pickle_protocol=protocol), FORMAT)
        add("state-dict-legacy.pt", saved(state, _use_new_zipfile_serialization=False))
        add("state-dict.pkl", pickle.dumps(state, protocol=2))
        add("state-dict-p4.pkl", pickle.dumps(state, protocol=4))
        scripted = io.BytesIO()
        torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(2, 2))), scripted)
        add("scripted.pt", scripted.getvalue())
        traced = io.BytesIO()
        torch.jit.save(torch.jit.trace(net.head, torch.zeros(1, 2)), traced)  # type: ignore[no-untyped-call]
        add("traced.pt", traced.getvalue())
        optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
        for name, kind in optimizers.items():
            optimizer = kind(net.parameters(), lr=0.1)
            sum(p.sum() for p in net.head.parameters()).backward()
            optimizer.step()
            add(f"optimizer-{name}.pt", saved(optimizer.state_dict()))
    add("dtypes.pt", saved(_dtypes(torch)))
    add("sparse.pt", saved(_sparse(torch)))
    add("quantized.pt", saved(_quantized(torch)))
    add("values.pt", saved(_values(torch)))
    arrays = {"a": np.arange(6.0).reshape(2, 3), "s": np.float32(1.5), "b": np.bool_(True)}
    arrays["m"] = np.ma.array([1, 2], mask=[False, True])
    add("numpy.pt", saved(arrays), GLOBALS)
    add("numpy-p5.pt", saved(arrays, pickle_protocol=5), GLOBALS, FORMAT)
    add("numpy.pkl", pickle.dumps(arrays, protocol=5))
    for name, module in _wrapped_modules(torch).items():
        add(f"{name}.pt", saved(module), GLOBALS)
    add("training-checkpoint.pt", saved(_checkpoint(torch)), GLOBALS)
    add("primitives-p0.pkl", pickle.dumps({"a": [1, 2.5, "x", None, True]}, protocol=0))
    add("primitives-p1.pkl", pickle.dumps({"a": (1, b"y", {3})}, protocol=1))
    add("legacy-tar.pt", tar_checkpoint(torch), FORMAT)
    return out


def _dtypes(torch: Any) -> dict[str, Any]:
    kinds = ["bfloat16", "float16", "complex64", "complex128", "uint16", "uint32", "int8",
             "bool", "float8_e4m3fn", "float8_e5m2", "float64"]  # fmt: skip
    return {kind: torch.zeros(2, dtype=getattr(torch, kind)) for kind in kinds}


def _sparse(torch: Any) -> dict[str, Any]:
    dense = torch.eye(3)
    return {
        "coo": dense.to_sparse(),
        "csr": dense.to_sparse_csr(),
        "csc": dense.to_sparse_csc(),
        "bsr": dense.to_sparse_bsr((1, 1)),
    }


def _quantized(torch: Any) -> dict[str, Any]:
    values = torch.rand(2, 3)
    return {
        "per-tensor": torch.quantize_per_tensor(values, 0.1, 0, torch.quint8),
        "per-channel": torch.quantize_per_channel(
            values, torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), 0, torch.qint8
        ),
    }


def _values(torch: Any) -> dict[str, Any]:
    return {
        "device": torch.device("cpu"),
        "dtype": torch.float32,
        "layout": torch.sparse_coo,
        "size": torch.Size([1, 2]),
        "set": {1, 2},
        "bytes": b"\x00\xff",
        "bytearray": bytearray(b"z"),
        "complex": 1 + 2j,
        "meta": torch.empty(2, device="meta"),
        "parameter": torch.nn.Parameter(torch.ones(2)),
        "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False),
    }


def _wrapped_modules(torch: Any) -> dict[str, Any]:
    pruned = torch.nn.Linear(2, 2)
    importlib.import_module("torch.nn.utils.prune").l1_unstructured(pruned, "weight", amount=0.5)
    return {
        "quantized-module": torch.ao.nn.quantized.Linear(2, 2),
        "data-parallel": torch.nn.DataParallel(torch.nn.Linear(2, 2)),
        "weight-norm": torch.nn.utils.weight_norm(torch.nn.Linear(2, 2)),
        "spectral-norm": torch.nn.utils.spectral_norm(torch.nn.Linear(2, 2)),
        "pruned": pruned,
        "transformer": torch.nn.TransformerEncoderLayer(4, 2, 8),
    }


def _checkpoint(torch: Any) -> dict[str, Any]:
    return {
        "epoch": 3,
        "args": argparse.Namespace(lr=0.1, name="run"),
        "saved_at": datetime.datetime(2026, 1, 2, 3, 4, 5),
        "elapsed": datetime.timedelta(seconds=5),
        "output": pathlib.PurePosixPath("/runs/3"),
        "rng": torch.get_rng_state(),
        "model": torch.nn.Linear(2, 2).state_dict(),
    }


def tar_checkpoint(torch: Any) -> bytes:
    """A legacy tar checkpoint ``{"w": tensor([1., 2.])}``, laid out as torch before 0.4
    wrote it (torch still reads it; the test checks that)."""

    class Ref:
        def __init__(self, key: int) -> None:
            self.key = key

    def dumps(obj: object) -> bytes:
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=2)
        pickler.persistent_id = lambda o: o.key if isinstance(o, Ref) else None  # type: ignore[method-assign]
        pickler.dump(obj)
        return buffer.getvalue()

    values = struct.pack("<2f", 1.0, 2.0)
    storages = (
        dumps(1) + dumps(("22", "cpu", torch.FloatStorage)) + struct.pack("<q", 2) + values
        + dumps([])
    )  # fmt: skip
    geometry = struct.pack("<i", 1) + bytes(4) + struct.pack("<qqq", 2, 1, 0)
    tensors = dumps(1) + dumps((11, "22", torch.FloatTensor)) + geometry
    return legacy_tar(obj=dumps({"w": Ref(11)}), storages=storages, tensors=tensors)


Maker = Callable[[], list[Legit]]
