"""Tensors as a serialized file describes them: name, dtype, shape, and where the bytes are.

:class:`TensorInfo` is read from metadata only (a torch pickle's rebuild calls, a
safetensors header); nothing here reads tensor data. :data:`DTYPES` says how wide each
element type is and how Python's :mod:`struct`/``memoryview`` spell it, where they can.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class DType:
    """An element type: torch's name, bytes per element, and the ``memoryview`` format of
    one element (None where Python has none: bfloat16, float8, complex, quantized...)."""

    name: str
    itemsize: int
    fmt: str | None = None


def _dtypes(*items: tuple[str, int, str | None]) -> dict[str, DType]:
    return {name: DType(name, size, fmt) for name, size, fmt in items}


#: Every dtype a torch or safetensors file may name, by torch's name.
DTYPES: Final = _dtypes(
    ("float64", 8, "d"), ("float32", 4, "f"), ("float16", 2, "e"), ("bfloat16", 2, None),
    ("int64", 8, "q"), ("int32", 4, "i"), ("int16", 2, "h"), ("int8", 1, "b"),
    ("uint64", 8, "Q"), ("uint32", 4, "I"), ("uint16", 2, "H"), ("uint8", 1, "B"),
    ("bool", 1, "?"), ("complex128", 16, None), ("complex64", 8, None), ("complex32", 4, None),
    ("float8_e4m3fn", 1, None), ("float8_e5m2", 1, None), ("float8_e4m3fnuz", 1, None),
    ("float8_e5m2fnuz", 1, None), ("float8_e8m0fnu", 1, None), ("float4_e2m1fn_x2", 1, None),
    ("qint8", 1, None), ("quint8", 1, None), ("qint32", 4, None), ("quint4x2", 1, None),
    ("quint2x4", 1, None),
)  # fmt: skip

#: torch's legacy typed storage classes (``torch.FloatStorage``...), by class name.
STORAGE_DTYPES: Final = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64", "QInt8Storage": "qint8", "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
}  # fmt: skip

#: Python's names for torch dtypes that torch also accepts (``torch.float`` ...).
DTYPE_ALIASES: Final = {
    "float": "float32", "double": "float64", "half": "float16", "long": "int64",
    "int": "int32", "short": "int16", "cfloat": "complex64", "cdouble": "complex128",
    "chalf": "complex32",
}  # fmt: skip


def dtype_named(name: str) -> DType | None:
    """The :class:`DType` torch calls *name* (aliases accepted), or None."""
    return DTYPES.get(DTYPE_ALIASES.get(name, name))


@dataclass(frozen=True)
class TensorInfo:
    """One tensor: its ``name`` (dotted path), ``dtype`` (torch's name), ``shape``, and
    where its elements are: storage ``storage`` (a torch storage key, or the safetensors
    tensor name), from element ``offset`` with ``stride`` (None for safetensors, which are
    contiguous). ``storage_bytes`` is the declared size of the storage when known."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    storage: str | None = None
    offset: int = 0
    stride: tuple[int, ...] | None = None
    storage_bytes: int | None = None

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def is_contiguous(self) -> bool:
        """True when the elements lie one after another in row-major order."""
        if self.stride is None:
            return True
        expected = 1
        for size, step in zip(reversed(self.shape), reversed(self.stride), strict=False):
            if size != 1 and step != expected:
                return False
            expected *= size
        return True

    def shape_text(self) -> str:
        """``[2, 3]`` (``[]`` for a scalar)."""
        return "[" + ", ".join(str(size) for size in self.shape) + "]"


@dataclass(frozen=True)
class TensorSummary:
    """What a list of tensors adds up to: count, elements per dtype, parameter total."""

    count: int
    dtypes: tuple[tuple[str, int], ...]
    parameters: int
    bytes: int

    @classmethod
    def of(cls, tensors: Sequence[TensorInfo]) -> TensorSummary:
        by_dtype: Counter[str] = Counter()
        size = 0
        for tensor in tensors:
            by_dtype[tensor.dtype] += 1
            dtype = dtype_named(tensor.dtype)
            size += tensor.numel * (dtype.itemsize if dtype else 0)
        ordered = tuple(sorted(by_dtype.items(), key=lambda item: (-item[1], item[0])))
        return cls(len(tensors), ordered, sum(t.numel for t in tensors), size)


def unique_names(tensors: Iterable[TensorInfo]) -> dict[str, TensorInfo]:
    """The tensors by name (the first one of a name wins)."""
    found: dict[str, TensorInfo] = {}
    for tensor in tensors:
        found.setdefault(tensor.name, tensor)
    return found
