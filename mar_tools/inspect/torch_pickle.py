"""What a torch pickle holds, read from its inert value tree (never unpickled).

torch writes each tensor as a call of one of its rebuild functions
(``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``) whose first
argument is a persistent id naming the storage (``('storage', torch.FloatStorage, '0',
'cpu', numel)``). :func:`read_contents` walks the tree of
:func:`mar_tools.core.pickle.tree.load_tree` and lists every such tensor under its dotted
path (dict keys, list indexes, and object attributes; the ``_parameters``, ``_buffers``
and ``_modules`` of an ``nn.Module`` are left out of names, so a pickled module's tensors
are named as in its ``state_dict``), and the classes the pickle would instantiate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from mar_tools.core.pickle.tree import Call, DictValue, Persistent, Ref
from mar_tools.inspect.tensors import STORAGE_DTYPES, TensorInfo, dtype_named

PickleKind = Literal["state_dict", "pickled_module", "other"]

#: Rebuild functions of a dense tensor; their first four arguments are storage, storage
#: offset, size and stride (v3 passes the dtype seventh, for dtypes without a storage class).
TENSOR_REBUILDS: Final = frozenset(
    {
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_qtensor",
    }
)
#: Wrappers whose first argument is the tensor (``nn.Parameter``).
PARAMETER_REBUILDS: Final = frozenset(
    {"torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state"}
)
#: ``_rebuild_from_type_v2(function, type, args, state)``: a tensor subclass.
FROM_TYPE: Final = "torch._tensor._rebuild_from_type_v2"
#: Calls that build plain values, not objects of a class the model defines.
PLAIN_CALLEES: Final = frozenset(
    {"collections.OrderedDict", "builtins.set", "builtins.frozenset", "builtins.slice",
     "builtins.complex", "builtins.bytearray", "torch.Size", "torch.device", "_codecs.encode"}
)  # fmt: skip
#: Attributes of ``nn.Module`` that hold its parameters, buffers and children.
MODULE_SLOTS: Final = frozenset({"_parameters", "_buffers", "_modules"})


@dataclass(frozen=True)
class PickleContents:
    """The tensors of a torch pickle, in pickle order, and the classes it instantiates."""

    kind: PickleKind
    tensors: tuple[TensorInfo, ...]
    classes: tuple[str, ...]


def read_contents(root: object) -> PickleContents:
    """List the tensors and classes of the value tree *root* (see the module docstring)."""
    walker = _Walker()
    walker.walk(root)
    classes = tuple(dict.fromkeys(walker.classes))
    if classes or (isinstance(root, Call) and walker.tensor_of(root) is None):
        kind: PickleKind = "pickled_module"
    elif walker.tensors:
        kind = "state_dict"
    else:
        kind = "other"
    return PickleContents(kind, tuple(walker.tensors), classes)


class _Walker:
    def __init__(self) -> None:
        self.tensors: list[TensorInfo] = []
        self.classes: list[str] = []
        self.seen: set[int] = set()

    def walk(self, root: object) -> None:
        pending: list[tuple[object, tuple[str, ...]]] = [(root, ())]
        while pending:
            value, path = pending.pop()
            if not isinstance(value, Call | dict | list | tuple) or id(value) in self.seen:
                continue
            self.seen.add(id(value))
            if isinstance(value, Call):
                tensor = self.tensor_of(value)
                if tensor is not None:
                    self.tensors.append(tensor.with_name(".".join(path)))
                    continue
                children = self.object_children(value, path)
            elif isinstance(value, dict):
                children = [(v, _step(path, k)) for k, v in value.items()]
                if isinstance(value, DictValue) and value.state is not None:
                    children.append((value.state, path))
            else:
                children = [(item, (*path, str(i))) for i, item in enumerate(value)]
            pending.extend(reversed(children))

    def object_children(
        self, call: Call, path: tuple[str, ...]
    ) -> list[tuple[object, tuple[str, ...]]]:
        """What to walk inside an object: its state, items and entries (not its class)."""
        name = call.name
        if name is not None and name not in PLAIN_CALLEES:
            self.classes.append(name)
        return [(call.state, path), (list(call.items), path), (dict(_pairs(call.entries)), path)]

    def tensor_of(self, call: Call) -> _Tensor | None:
        """The tensor *call* rebuilds, or None when it is not a tensor rebuild."""
        name = call.name
        args = call.args
        if name in PARAMETER_REBUILDS and args and isinstance(args[0], Call):
            return self.tensor_of(args[0])
        if name == FROM_TYPE and len(args) >= 3 and isinstance(args[2], tuple):
            return self.tensor_of(Call(args[0], args[2]))
        if name not in TENSOR_REBUILDS or len(args) < 4:
            return None
        extra = args[6] if name == "torch._utils._rebuild_tensor_v3" and len(args) > 6 else None
        return _Tensor.from_args(args[0], args[1], args[2], args[3], extra)


def _pairs(entries: list[tuple[object, object]]) -> list[tuple[object, object]]:
    return [(key, value) for key, value in entries if isinstance(key, str | int)]


def _step(path: tuple[str, ...], key: object) -> tuple[str, ...]:
    """*path* extended by dict key *key* (module slots add nothing to a name)."""
    text = key if isinstance(key, str) else str(key) if isinstance(key, int) else "?"
    return path if text in MODULE_SLOTS else (*path, text)


@dataclass(frozen=True)
class _Tensor:
    dtype: str
    shape: tuple[int, ...]
    storage: str | None
    offset: int
    stride: tuple[int, ...]
    storage_bytes: int | None

    @classmethod
    def from_args(
        cls, storage: object, offset: object, size: object, stride: object, dtype: object
    ) -> _Tensor | None:
        shape, steps = _ints(size), _ints(stride)
        if shape is None or steps is None or not isinstance(offset, int):
            return None
        pid = storage.pid if isinstance(storage, Persistent) else None
        if not isinstance(pid, tuple) or len(pid) < 5:
            return None
        kind, key, count = pid[1], pid[2], pid[4]
        name = STORAGE_DTYPES.get(kind.name) if isinstance(kind, Ref) else None
        untyped = name is None
        if untyped and isinstance(dtype, Ref):
            name = dtype.name
        known = dtype_named(name or "")
        if known is None:
            return None
        size_bytes = None
        if isinstance(count, int):
            size_bytes = count if untyped else count * known.itemsize
        return cls(known.name, shape, str(key), offset, steps, size_bytes)

    def with_name(self, name: str) -> TensorInfo:
        return TensorInfo(
            name or "<root>",
            self.dtype,
            self.shape,
            self.storage,
            self.offset,
            self.stride,
            self.storage_bytes,
        )


def _ints(value: object) -> tuple[int, ...] | None:
    if isinstance(value, Call) and value.name == "torch.Size" and value.args:
        value = value.args[0]
    if not isinstance(value, tuple | list):
        return None
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        return None
    return tuple(value)
