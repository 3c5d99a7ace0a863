"""What ``torch.load(weights_only=True)`` (the default since torch 2.6) accepts.

Its unpickler (``torch/_weights_only_unpickler.py``) implements only the opcodes that
``torch.save``'s default protocol 2 writes, so a pickle of protocol 4 or 5 (``FRAME``,
``MEMOIZE``, ``SHORT_BINUNICODE``, ``STACK_GLOBAL``...) or of protocol 0 or 1 (text
opcodes) is refused even when every global in it is a tensor; and it resolves only a fixed
list of globals. Both are emulated here, for warnings: the file is safe but a handler
relying on torch's default cannot load it.
"""

from __future__ import annotations

from typing import Final

from mar_tools.core.pickle.opcodes import OPS
from mar_tools.validate.pickle.torch_names import DTYPES, STORAGES, TENSOR_CLASSES

#: The opcodes the weights-only unpickler implements (torch 2.13).
OPCODES: Final = frozenset(
    code
    for code, op in OPS.items()
    if op.name
    in {
        "GLOBAL", "NEWOBJ", "REDUCE", "BUILD", "APPEND", "APPENDS", "SETITEM", "SETITEMS",
        "MARK", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "NONE", "NEWFALSE", "NEWTRUE",
        "EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "BININT", "BININT1",
        "BININT2", "BINFLOAT", "BINUNICODE", "SHORT_BINSTRING", "BINPERSID", "BINGET",
        "LONG_BINGET", "BINPUT", "LONG_BINPUT", "LONG1", "PROTO", "STOP",
    }
)  # fmt: skip

_NAMES: Final = frozenset(
    {
        "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device",
        "_codecs.encode", "builtins.bytearray", "builtins.set", "builtins.complex",
        "torch._tensor._rebuild_from_type_v2", "torch.per_tensor_affine",
        "torch.per_tensor_symmetric", "torch.per_channel_affine",
        "torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams",
        *(f"torch._utils.{name}" for name in (
            "_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor",
            "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3",
            "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage",
            "_rebuild_nested_tensor", "_rebuild_wrapper_subclass",
            "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
        )),
        *STORAGES,
        *TENSOR_CLASSES.split(),
        *(f"torch.{name}" for name in DTYPES.split()),
    }
)  # fmt: skip


def accepts_global(module: str, name: str) -> bool:
    """True when the weights-only unpickler resolves ``module.name``."""
    return f"{module}.{name}" in _NAMES


def refused_opcodes(seen: set[int]) -> list[str]:
    """Names of the opcodes in *seen* that the weights-only unpickler refuses, sorted."""
    return sorted(OPS[code].name for code in seen - OPCODES)
