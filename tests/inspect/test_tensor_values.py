"""Element comparison against torch's own arithmetic, for every dtype we decode."""

from __future__ import annotations

import math

import pytest

from mar_tools.inspect import tensor_arrays
from mar_tools.inspect.tensor_values import compare_elements
from mar_tools.inspect.tensors import DTYPES


@pytest.fixture(autouse=True, params=["numpy", "struct"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with numpy's vectorized comparison and with the pure-Python one."""
    if request.param == "struct":
        monkeypatch.setattr("mar_tools.inspect.tensor_values.numpy_module", lambda: None)
    else:
        assert tensor_arrays.numpy_module() is not None
    return str(request.param)


def raw(tensor: object) -> bytes:
    import torch

    assert isinstance(tensor, torch.Tensor)
    return tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes()


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    "dtype",
    ["float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16", "int32", "int64",
     "uint16", "uint32", "uint64", "bool", "complex64", "complex128"],
)  # fmt: skip
def test_largest_difference_as_torch_computes_it(dtype: str) -> None:
    import torch

    torch.manual_seed(1)
    kind = getattr(torch, dtype)
    if dtype == "bool":
        first = torch.rand(500) > 0.5
    elif kind.is_complex:
        first = torch.randn(500, dtype=kind)
    elif kind.is_floating_point:
        first = (torch.randn(500) * 10).to(kind)
    else:
        first = torch.randint(0, 100, (500,))  # unsigned arithmetic is done in int64
    second = first.clone()
    for index in (3, 77, 499):
        second[index] = ~second[index] if dtype == "bool" else second[index] + 7
    wide = torch.complex128 if kind.is_complex else torch.float64
    expected = (first.to(wide) - second.to(wide)).abs().max().item()
    first, second = first.to(kind), second.to(kind)
    result = compare_elements(DTYPES[dtype], pieces(raw(first), 37), [raw(second)], 500)
    assert result is not None
    assert result.changed == 3
    assert result.max_abs_diff == pytest.approx(expected, rel=1e-12)


def test_identical_tensors_and_bytewise_dtypes() -> None:
    import torch

    values = torch.tensor([0.5, 1.0, -2.0], dtype=torch.float8_e4m3fn)
    same = compare_elements(DTYPES["float8_e4m3fn"], [raw(values)], [raw(values)], 3)
    assert same is not None and (same.changed, same.max_abs_diff) == (0, None)
    other = values.clone().view(torch.uint8)
    other[1] ^= 1
    changed = compare_elements(DTYPES["float8_e4m3fn"], [raw(values)], [raw(other)], 3)
    assert changed is not None and (changed.changed, changed.max_abs_diff) == (1, None)


def test_nan_and_infinity() -> None:
    import torch

    nan, inf = math.nan, math.inf
    first = torch.tensor([1.0, nan, inf, 2.0, inf])
    second = torch.tensor([1.5, nan, inf, nan, -inf])
    result = compare_elements(DTYPES["float32"], [raw(first)], [raw(second)], 5)
    assert result is not None and (result.changed, result.max_abs_diff) == (3, inf)
    finite = compare_elements(DTYPES["float32"], [raw(first[:3])], [raw(second[:3])], 3)
    assert finite is not None and (finite.changed, finite.max_abs_diff) == (1, 0.5)


def test_truncated_data_is_not_compared() -> None:
    import torch

    data = raw(torch.ones(4))
    assert compare_elements(DTYPES["float32"], [data], [data[:-4]], 4) is None
    assert compare_elements(DTYPES["float32"], [data], [data + data], 4) is None
