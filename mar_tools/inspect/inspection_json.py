"""``mar inspect --format json``: the data of an :class:`Inspection`, as described by
``schemas/inspect.schema.json`` (version 1: fields are only ever added)."""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

from mar_tools._version import __version__
from mar_tools.inspect.entry_point import HandlerEntry, ModelClass
from mar_tools.inspect.inspection import Inspection, SerializedSummary
from mar_tools.inspect.tensors import TensorInfo

FORMAT_VERSION = 1


def inspection_data(inspection: Inspection) -> dict[str, Any]:
    """The inspection as JSON-ready data."""
    manifest = inspection.manifest
    return {
        "version": FORMAT_VERSION,
        "tool": {"name": "mar inspect", "version": __version__},
        "path": str(inspection.path),
        "format": inspection.format.value,
        "size": inspection.size,
        "sha256": inspection.sha256,
        "content_digest": inspection.digest.value if inspection.digest else None,
        "manifest": json_safe(manifest.raw),
        "handler": handler_data(inspection.handler),
        "model": model_data(inspection.model),
        "serialized": serialized_data(inspection.serialized),
        "requirements": None if inspection.requirements is None else list(inspection.requirements),
        "config": {
            "file": inspection.config_file,
            "frontend": json_safe(inspection.frontend_settings()),
            "values": json_safe(inspection.config),
        },
        "entries": [
            {
                "name": row.name,
                "kind": row.kind,
                "size": row.size,
                "compressed_size": row.compressed_size,
                "method": row.method,
                "crc32": row.crc,
            }
            for row in inspection.entries
        ],
        "warnings": list(inspection.warnings),
    }


def handler_data(entry: HandlerEntry) -> dict[str, Any]:
    return {
        "reference": entry.reference,
        "kind": entry.kind,
        "module": entry.module,
        "file": entry.file,
        "name": entry.name,
        "note": entry.note,
    }


def model_data(model: ModelClass | None) -> dict[str, Any] | None:
    if model is None:
        return None
    return {"file": model.file, "classes": list(model.classes), "class": model.name}


def serialized_data(summary: SerializedSummary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    info, totals = summary.info, summary.totals
    return {
        "file": summary.file,
        "size": summary.size,
        "kind": info.kind,
        "container": info.container,
        "classes": list(info.classes),
        "note": info.note,
        "tensors": None
        if totals is None
        else {
            "count": totals.count,
            "parameters": totals.parameters,
            "bytes": totals.bytes,
            "dtypes": dict(totals.dtypes),
        },
    }


def tensor_data(tensor: TensorInfo) -> dict[str, Any]:
    return {"name": tensor.name, "dtype": tensor.dtype, "shape": list(tensor.shape)}


def json_safe(value: object) -> Any:
    """*value* (parsed JSON or YAML) with what JSON cannot hold made into strings:
    dates, non-finite floats, non-string keys, sets and bytes."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return str(value)
