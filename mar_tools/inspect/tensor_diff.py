"""Which tensors differ between two serialized files: added, removed, and changed (with the
largest absolute difference), read from metadata and storages without unpickling.

Each pair of tensors with a name in common is compared: a different dtype or shape is a
change without a magnitude; otherwise their elements are compared (pieces that are equal
as bytes cost one comparison; see :mod:`mar_tools.inspect.tensor_values`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mar_tools.inspect.tensor_values import compare_elements
from mar_tools.inspect.tensors import TensorInfo, dtype_named, unique_names
from mar_tools.inspect.weights_file import WeightsFile

TensorStatus = Literal["added", "removed", "changed", "unknown"]


@dataclass(frozen=True)
class TensorChange:
    """One tensor that differs (``unknown``: its data could not be read to tell).
    ``before``/``after`` are None on the side that lacks it;
    ``changed`` elements and ``max_abs_diff`` are set when the values were compared
    (``max_abs_diff`` None for dtypes without a numeric reading); ``note`` says why not."""

    name: str
    status: TensorStatus
    before: TensorInfo | None
    after: TensorInfo | None
    changed: int | None = None
    max_abs_diff: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class TensorComparison:
    """The tensors of the serialized files ``first`` and ``second``: what changed, how many
    compared equal, and a ``note`` when they could not be compared at all."""

    first: str
    second: str
    changes: tuple[TensorChange, ...]
    unchanged: int
    note: str | None = None


def compare_tensors(first: WeightsFile, second: WeightsFile) -> TensorComparison:
    """Compare the tensors of two open serialized files."""
    names = (first.member.name, second.member.name)
    left_list, right_list = first.info.tensors, second.info.tensors
    if left_list is None or right_list is None:
        unreadable = first if left_list is None else second
        note = f"{unreadable.member.name}: {unreadable.info.note or 'no tensors to compare'}"
        return TensorComparison(*names, (), 0, note)
    left, right = unique_names(left_list), unique_names(right_list)
    changes: list[TensorChange] = []
    unchanged = 0
    for name in [*left, *(name for name in right if name not in left)]:
        old, new = left.get(name), right.get(name)
        if old is None or new is None:
            changes.append(TensorChange(name, "added" if old is None else "removed", old, new))
            continue
        change = _compare_pair(first, second, old, new)
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    return TensorComparison(*names, tuple(changes), unchanged)


def _compare_pair(
    first: WeightsFile, second: WeightsFile, old: TensorInfo, new: TensorInfo
) -> TensorChange | None:
    if old.dtype != new.dtype or old.shape != new.shape:
        return TensorChange(old.name, "changed", old, new, note="dtype or shape changed")
    dtype = dtype_named(old.dtype)
    left, right = first.pieces(old), second.pieces(new)
    if dtype is None or left is None or right is None:
        return TensorChange(old.name, "unknown", old, new, note="its data cannot be read")
    result = compare_elements(dtype, left, right, old.numel)
    if result is None:
        return TensorChange(old.name, "unknown", old, new, note="its data is truncated")
    if result.changed == 0:
        return None
    return TensorChange(old.name, "changed", old, new, result.changed, result.max_abs_diff)
