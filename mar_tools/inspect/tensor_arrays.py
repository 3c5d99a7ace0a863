"""The vectorized twin of :mod:`mar_tools.inspect.tensor_values`, used when numpy can be
imported (it is not a dependency of mar-tools, but it is where torch is): the same answers,
about a hundred times faster on large changed tensors."""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any, Final

#: numpy's little-endian dtype for each torch dtype it can hold.
NUMPY_DTYPES: Final = {
    "float64": "<f8", "float32": "<f4", "float16": "<f2", "int64": "<i8", "int32": "<i4",
    "int16": "<i2", "int8": "i1", "uint64": "<u8", "uint32": "<u4", "uint16": "<u2",
    "uint8": "u1", "bool": "?", "complex64": "<c8", "complex128": "<c16",
}  # fmt: skip


@functools.cache
def numpy_module() -> ModuleType | None:
    """numpy, or None where it is not installed."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def compare_arrays(np: Any, dtype: str, left: bytes, right: bytes) -> tuple[int, float]:
    """(elements that differ, largest absolute difference) of two pieces of *dtype*
    (bfloat16 already widened to float32), with the module docstring's rules for NaN."""
    a = np.frombuffer(left, dtype=NUMPY_DTYPES[dtype])
    b = np.frombuffer(right, dtype=NUMPY_DTYPES[dtype])
    if a.dtype.kind in "fc":
        both_nan = np.isnan(a) & np.isnan(b)
        same = (a == b) | both_nan
        wide = np.complex128 if a.dtype.kind == "c" else np.float64
        with np.errstate(invalid="ignore", over="ignore"):
            gaps = np.abs(a.astype(wide) - b.astype(wide))
        gaps = np.where(np.isnan(gaps), np.inf, gaps)
    else:
        same = a == b
        gaps = np.abs(a.astype(np.float64) - b.astype(np.float64))
    differ = ~same
    changed = int(np.count_nonzero(differ))
    return changed, float(gaps[differ].max()) if changed else 0.0
