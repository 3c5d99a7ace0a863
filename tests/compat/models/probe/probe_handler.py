"""A handler that reports what it was given, for comparing TorchServe with ``mar run``.

Each response row describes the request as the handler saw it (parameter names, decoded
value types, headers, batch), the context TorchServe built (system properties except the
model dir, the model-config.yaml, cwd), and files it reads from the extracted archive. A
body starting with a command (``raise:...``, ``return:...``, ``status:...``) exercises one
error path or response encoding of TorchServe's Python backend instead.

Entry point ``probe_handler:entry`` (a named module-level function): TorchServe calls it
once with ``(None, context)`` at load time, then with each batch.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

# Shipped in the archive root: importing it proves the model dir is on sys.path. (Imported
# by name at run time; the type checker cannot see the archive's layout.)
probe_helper = importlib.import_module("probe_helper")

Row = dict[str, Any]


def entry(data: list[Row] | None, context: Any) -> list[Any] | None:
    """TorchServe's function entry point: None at load, one response per request after."""
    if data is None:
        return None
    commands = [_command(row) for row in data]
    for command in commands:
        _raise_if_asked(command)
    if "return:short" in commands:
        return []
    return [
        _respond(index, row, command, context)
        for index, (row, command) in enumerate(zip(data, commands, strict=True))
    ]


def _command(row: Row) -> str:
    value = row.get("data", row.get("body"))
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


def _raise_if_asked(command: str) -> None:
    if command == "raise:prediction":
        # Imported here so that the handler loads in either implementation of `ts`.
        util = importlib.import_module("ts.utils.util")
        raise util.PredictionException("probe refused this input", 422)
    if command == "raise:value":
        raise ValueError("probe was asked to fail")
    if command == "raise:memory":
        raise MemoryError("probe pretends to be out of memory")


def _respond(index: int, row: Row, command: str, context: Any) -> Any:
    if command == "return:bytes":
        return b"\x00\x01probe-bytes\xff"
    if command == "return:text":
        return "plain text, not JSON: \u2713"
    if command == "status:201":
        context.set_response_status(201, "Created", index)
        context.set_response_content_type(index, "text/plain")
        context.set_response_header(index, "X-Probe", "set-by-handler")
        return "created"
    return _describe(index, row, context)


def _describe(index: int, row: Row, context: Any) -> Row:
    properties = dict(context.system_properties)
    model_dir = properties.pop("model_dir")
    config = context.model_yaml_config or {}
    return {
        "parameters": {name: _summary(value) for name, value in sorted(row.items())},
        # TorchServe files each parameter's content type under the parameter's name.
        "parameter_headers": {name: context.get_request_header(index, name) for name in row},
        "explain": context.get_request_header(index, "explain"),
        "x-probe": context.get_request_header(index, "x-probe"),
        "batch": len(context.request_ids),
        "system_properties": properties,
        "handler_config": config.get("handler"),
        "cwd_is_model_dir": Path.cwd().resolve() == Path(model_dir).resolve(),
        "model_dir_on_path": any(
            Path(entry or ".").resolve() == Path(model_dir).resolve() for entry in sys.path
        ),
        "labels": json.loads(Path(model_dir, "labels.json").read_text()),
        "nested": Path(model_dir, "nested", "deep.txt").read_text(),
        "notes": sorted(path.name for path in Path(model_dir).glob("*.txt")),
        "helper": probe_helper.GREETING,
        "manifest_model": _manifest_model(context),
    }


def _summary(value: Any) -> Row:
    if isinstance(value, (bytes, bytearray)):
        return {
            "type": type(value).__name__,
            "length": len(value),
            "sha256": hashlib.sha256(value).hexdigest(),
        }
    return {"type": type(value).__name__, "value": value}


def _manifest_model(context: Any) -> Row:
    model = dict((context.manifest or {}).get("model", {}))
    # The batch registration renames the model; everything else must match.
    model.pop("modelName", None)
    return model
