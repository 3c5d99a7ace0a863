"""``mar diff --format json``: the data of a :class:`Difference`, as described by
``schemas/diff.schema.json`` (version 1: fields are only ever added)."""

from __future__ import annotations

import math
from typing import Any

from mar_tools._version import __version__
from mar_tools.inspect.comparison import Difference, Side
from mar_tools.inspect.field_diff import MISSING, FieldChange
from mar_tools.inspect.inspection_json import json_safe, tensor_data
from mar_tools.inspect.tensor_diff import TensorChange

FORMAT_VERSION = 1


def difference_data(difference: Difference) -> dict[str, Any]:
    """The difference as JSON-ready data."""
    tensors = difference.tensors
    return {
        "version": FORMAT_VERSION,
        "tool": {"name": "mar diff", "version": __version__},
        "same": difference.same,
        "compared_by": difference.compared_by,
        "first": _side(difference.first),
        "second": _side(difference.second),
        "manifest": [_field(change) for change in difference.manifest],
        "ignored": [_field(change) for change in difference.ignored],
        "config": [_field(change) for change in difference.config],
        "requirements": {
            "added": list(difference.requirements.added),
            "removed": list(difference.requirements.removed),
        },
        "entries": [
            {
                "name": change.name,
                "status": change.status,
                "before_size": change.before_size,
                "after_size": change.after_size,
            }
            for change in difference.entries
        ],
        "tensors": None
        if tensors is None
        else {
            "first": tensors.first,
            "second": tensors.second,
            "unchanged": tensors.unchanged,
            "note": tensors.note,
            "changes": [_tensor(change) for change in tensors.changes],
        },
    }


def _side(side: Side) -> dict[str, Any]:
    return {
        "path": str(side.path),
        "format": side.format.value,
        "content_digest": side.digest.value if side.digest else None,
    }


def _field(change: FieldChange) -> dict[str, Any]:
    data: dict[str, Any] = {"path": change.path, "status": change.status}
    if change.before is not MISSING:
        data["before"] = json_safe(change.before)
    if change.after is not MISSING:
        data["after"] = json_safe(change.after)
    return data


def _tensor(change: TensorChange) -> dict[str, Any]:
    largest = change.max_abs_diff
    return {
        "name": change.name,
        "status": change.status,
        "before": None if change.before is None else tensor_data(change.before),
        "after": None if change.after is None else tensor_data(change.after),
        "changed_elements": change.changed,
        "max_abs_diff": largest if largest is None or math.isfinite(largest) else "inf",
        "note": change.note,
    }
