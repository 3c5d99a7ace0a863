"""Small torch-free models for the server tests: workers start in a fraction of a second.

``echo`` answers each request with what it received and the batch size; a body that is a
command exercises one server path instead: ``sleep:S`` (answer after S seconds),
``exit[:S]`` (the worker dies mid-batch, after S seconds), ``hang`` (never answers),
``stream[:S]`` (three streamed parts, S seconds apart).
"""

from __future__ import annotations

import json
from pathlib import Path

ECHO_HANDLER = """
import json, os, time

def handle(data, context):
    if data is None:
        return None
    out = []
    for index, row in enumerate(data):
        value = row.get("data") or row.get("body")
        if isinstance(value, (bytes, bytearray)):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and (value == "exit" or value.startswith("exit:")):
            time.sleep(float(value.split(":", 1)[1]) if ":" in value else 0.0)
            os._exit(9)
        if value == "hang":
            time.sleep(3600)
        if isinstance(value, str) and value.startswith("sleep:"):
            time.sleep(float(value.split(":", 1)[1]))
        if isinstance(value, str) and value.startswith("stream"):
            from ts.handler_utils.utils import send_intermediate_predict_response
            pause = float(value.split(":", 1)[1]) if ":" in value else 0.0
            for part in ("one ", "two "):
                send_intermediate_predict_response(
                    [part] * len(data), context.request_ids, "Intermediate", 200, context
                )
                time.sleep(pause)
            out.append("three")
            continue
        if not isinstance(value, (str, int, float, list, dict)):
            value = repr(value)
        out.append({"echo": value, "batch": len(data), "pid": os.getpid(),
                    "parameters": sorted(row)})
    return out
"""


def write_model(
    store: Path, name: str, handler: str = ECHO_HANDLER, config: str | None = None
) -> Path:
    """A directory-format model *name* in *store* whose handler is *handler* (a function
    entry ``handler.py:handle``); *config* becomes its model-config.yaml."""
    model = store / name
    (model / "MAR-INF").mkdir(parents=True, exist_ok=True)
    (model / "handler.py").write_text(handler)
    document = {"modelName": name, "handler": "handler.py", "modelVersion": "1.0"}
    if config is not None:
        (model / "model-config.yaml").write_text(config)
        document["configFile"] = "model-config.yaml"
    manifest = {
        "createdOn": "01/01/2026 00:00:00",
        "runtime": "python",
        "model": document,
        "archiverVersion": "0.12.0",
    }
    (model / "MAR-INF" / "MANIFEST.json").write_text(json.dumps(manifest, indent=2))
    return model
