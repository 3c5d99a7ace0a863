"""Comparing the elements of two tensors of the same dtype and shape: how many differ, and
by how much at most.

Pieces of raw bytes are compared as bytes first (equal pieces cost one ``memcmp``); only a
piece that differs is decoded: with numpy when it can be imported
(:mod:`mar_tools.inspect.tensor_arrays`), else with :mod:`struct` (about 1 s per million
elements). bfloat16 is widened to float32, complex numbers are compared by modulus.
Dtypes Python cannot decode (float8, quantized, complex32) are compared element by element
as bytes, without a magnitude. NaN
equals NaN here (a model whose NaNs stayed NaNs did not change); a NaN or infinity facing
a different value makes the difference infinite.
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mar_tools.inspect.tensor_arrays import compare_arrays, numpy_module
from mar_tools.inspect.tensors import DType

_FLOAT_FORMATS = frozenset({"f", "d", "e"})


@dataclass(frozen=True)
class ValueChange:
    """``changed`` elements differ; ``max_abs_diff`` is the largest absolute difference
    (``math.inf`` when a NaN or infinity faces another value; None when the dtype has no
    numeric reading here)."""

    changed: int
    max_abs_diff: float | None


def compare_elements(
    dtype: DType, first: Iterable[bytes], second: Iterable[bytes], numel: int
) -> ValueChange | None:
    """Compare *numel* elements of *dtype* given as byte pieces; None when either side
    holds fewer bytes than that."""
    expected = numel * dtype.itemsize
    changed, largest, left_total, right_total = 0, 0.0, 0, 0
    numeric = dtype.fmt is not None or dtype.name in ("bfloat16", "complex64", "complex128")
    for left, right in _aligned(first, second, dtype.itemsize):
        left_total += len(left)
        right_total += len(right)
        if left == right or len(left) != len(right):
            continue
        if numeric:
            count, biggest = _numeric(dtype, left, right)
            largest = max(largest, biggest)
        else:
            count = _bytewise(left, right, dtype.itemsize)
        changed += count
    if left_total != expected or right_total != expected:
        return None
    return ValueChange(changed, largest if numeric else None)


def _aligned(
    first: Iterable[bytes], second: Iterable[bytes], itemsize: int
) -> Iterator[tuple[bytes, bytes]]:
    """Pairs of equally long pieces (whole elements) from two streams of pieces; a last
    pair of unequal lengths when one stream holds more than the other."""
    left_pieces, right_pieces = iter(first), iter(second)
    left = right = b""
    while True:
        while len(left) < itemsize and (piece := next(left_pieces, None)) is not None:
            left += piece
        while len(right) < itemsize and (piece := next(right_pieces, None)) is not None:
            right += piece
        size = min(len(left), len(right))
        size -= size % itemsize
        if size == 0:
            if left or right:
                yield left, right
            return
        yield left[:size], right[:size]
        left, right = left[size:], right[size:]


def _numeric(dtype: DType, left: bytes, right: bytes) -> tuple[int, float]:
    np = numpy_module()
    if np is not None:
        if dtype.name == "bfloat16":
            return compare_arrays(np, "float32", _widen_bfloat16(left), _widen_bfloat16(right))
        return compare_arrays(np, dtype.name, left, right)
    if dtype.name == "bfloat16":
        return _values(_widen_bfloat16(left), _widen_bfloat16(right), "f")
    if dtype.name in ("complex64", "complex128"):
        return _complex(left, right, "f" if dtype.name == "complex64" else "d")
    assert dtype.fmt is not None
    return _values(left, right, dtype.fmt)


def _decode(raw: bytes, fmt: str) -> tuple[float, ...]:
    """The little-endian elements of *raw* (``memoryview.cast`` knows no float16)."""
    return struct.unpack(f"<{len(raw) // struct.calcsize(fmt)}{fmt}", raw)


def _values(left: bytes, right: bytes, fmt: str) -> tuple[int, float]:
    a, b = _decode(left, fmt), _decode(right, fmt)
    differences = list(map(operator.sub, a, b))
    if fmt in _FLOAT_FORMATS and not math.isfinite(sum(differences)):
        return _careful(a, b)  # a NaN or an infinity somewhere
    changed = len(differences) - differences.count(0)
    return changed, float(max(map(abs, differences), default=0))


def _careful(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[int, float]:
    """The comparison for pieces holding NaNs or infinities (see the module docstring)."""
    changed, largest = 0, 0.0
    for x, y in zip(a, b, strict=True):
        if x == y or (x != x and y != y):
            continue
        changed += 1
        difference = abs(x - y)
        largest = max(largest, math.inf if difference != difference else difference)
    return changed, largest


def _complex(left: bytes, right: bytes, fmt: str) -> tuple[int, float]:
    a, b = _decode(left, fmt), _decode(right, fmt)
    real = list(map(operator.sub, a[0::2], b[0::2]))
    imaginary = list(map(operator.sub, a[1::2], b[1::2]))
    moduli = list(map(math.hypot, real, imaginary))
    if not all(map(math.isfinite, moduli)):
        left_pairs = zip(a[0::2], a[1::2], strict=True)
        right_pairs = zip(b[0::2], b[1::2], strict=True)
        pairs = zip(left_pairs, right_pairs, strict=True)
        moduli = [_complex_difference(x, y) for x, y in pairs]
    changed = sum(1 for modulus in moduli if modulus != 0)
    return changed, max(moduli, default=0.0)


def _complex_difference(x: tuple[float, float], y: tuple[float, float]) -> float:
    if x == y or all(p != p and q != q for p, q in zip(x, y, strict=True)):
        return 0.0
    modulus = math.hypot(x[0] - y[0], x[1] - y[1])
    return math.inf if modulus != modulus else modulus


def _widen_bfloat16(raw: bytes) -> bytes:
    """bfloat16 (little-endian) as float32: the same bits, followed by 16 zero bits."""
    out = bytearray(len(raw) * 2)
    out[2::4] = raw[0::2]
    out[3::4] = raw[1::2]
    return bytes(out)


def _bytewise(left: bytes, right: bytes, itemsize: int) -> int:
    return sum(
        left[i : i + itemsize] != right[i : i + itemsize] for i in range(0, len(left), itemsize)
    )
