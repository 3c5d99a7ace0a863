"""Runs archives through upstream TorchServe 0.12's Python backend, without Java.

Started by the tests with the ``torchserve==0.12.0`` venv's interpreter, in the model
directory, with the environment TorchServe gives its workers::

    python upstream_driver.py SPEC.json RESULT.json

It does what ``ts/model_service_worker.py`` does for one connection: builds the metrics
cache, loads the model with ``TsModelLoader``, then for each batch encodes the request the
way the Java frontend does (``ModelRequestEncoder``), decodes it with upstream's
``retrieve_msg`` and answers with ``Service.predict``. The response frames are decoded and
written as JSON (bodies in base64). Only the standard library and the venv's ``ts`` are used.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import struct
import sys
from typing import Any

_INT = struct.Struct("!i")


def _field(text: str | None) -> bytes:
    if text is None:
        return _INT.pack(0)
    raw = text.encode("utf-8")
    return _INT.pack(len(raw)) + raw


def encode_batch(batch: list[dict[str, Any]]) -> bytes:
    """A predict command as the frontend sends it (after the command byte)."""
    out = bytearray()
    for request in batch:
        out += _field(request["id"])
        for name, value in request["headers"]:
            out += _field(name) + _field(value)
        out += _INT.pack(-1)
        for name, content_type, value in request["parameters"]:
            raw = base64.b64decode(value)
            out += _field(name) + _field(content_type) + _INT.pack(len(raw)) + raw
        out += _INT.pack(-1)
    out += _INT.pack(-1)
    return bytes(out)


class FakeConnection:
    """A socket whose ``recv`` reads from a fixed byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def recv(self, size: int) -> bytes:
        chunk = self.data[self.offset : self.offset + size]
        self.offset += len(chunk)
        return chunk


class MetricLines(logging.Handler):
    """Keeps the ``[METRICS]`` lines the metrics cache logs (TorchServe's frontend reads them
    from the worker's stdout)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            return  # a bad format string: the stream handler reports it
        if record.levelno == logging.INFO and message.startswith("[METRICS]"):
            self.lines.append(message)


class FrameCollector:
    """Stands in for the client socket: keeps streamed (intermediate) frames."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.frames.append(bytes(data))


def decode_frame(frame: bytes) -> dict[str, Any]:
    offset = 0

    def integer() -> int:
        nonlocal offset
        (value,) = _INT.unpack_from(frame, offset)
        offset += 4
        return int(value)

    def raw() -> bytes:
        nonlocal offset
        size = integer()
        chunk = frame[offset : offset + size]
        offset += size
        return chunk

    code = integer()
    message = raw().decode()
    responses = []
    while True:
        size = integer()
        if size == -1:
            break
        offset -= 4
        request_id = raw().decode()
        content_type = raw().decode()
        status = integer()
        phrase = raw().decode()
        headers = {}
        for _ in range(integer()):
            key = raw().decode()
            headers[key] = raw().decode()
        body = raw()
        responses.append(
            {
                "id": request_id,
                "content_type": content_type,
                "status": status,
                "phrase": phrase,
                "headers": headers,
                "body": base64.b64encode(body).decode("ascii"),
            }
        )
    return {"code": code, "message": message, "responses": responses}


def main(spec_path: str, result_path: str) -> None:
    here = os.path.dirname(os.path.abspath(__file__))  # noqa: PTH100, PTH120
    while here in sys.path:
        sys.path.remove(here)  # as the worker removes its own directory
    logging.basicConfig(stream=sys.stderr, format="%(message)s", level=logging.INFO)
    metric_lines = MetricLines()
    logging.getLogger().addHandler(metric_lines)
    with open(spec_path) as handle:
        spec = json.load(handle)
    metrics_module = importlib.import_module("ts.metrics.metric_cache_yaml_impl")
    loader_module = importlib.import_module("ts.model_loader")
    protocol = importlib.import_module("ts.protocol.otf_message_handler")
    cache = metrics_module.MetricsCacheYamlImpl(config_file_path=spec["metrics_config"])
    cache.initialize_cache()
    cache.model_name = spec["model_name"]
    result: dict[str, Any] = {"batches": []}
    try:
        service = loader_module.TsModelLoader().load(
            spec["model_name"],
            spec["model_dir"],
            spec["handler"],
            spec["gpu"],
            spec["batch_size"],
            spec["envelope"],
            True,
            cache,
        )
    except Exception as exc:
        result["load_error"] = f"{type(exc).__name__}: {exc}"
        with open(result_path, "w") as handle:
            json.dump(result, handle)
        return
    collector = FrameCollector()
    service.set_cl_socket(collector)
    for batch in spec["batches"]:
        connection = FakeConnection(b"I" + encode_batch(batch))
        _, message = protocol.retrieve_msg(connection)
        collector.frames.clear()
        response = service.predict(message)
        frames = [decode_frame(frame) for frame in collector.frames]
        frames.append(decode_frame(bytes(response)))
        result["batches"].append(frames)
    result["metrics"] = metric_lines.lines
    with open(result_path, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    # Like TorchServe's worker (killed by its frontend), never wait for threads a handler
    # left running: upstream's MicroBatching threads are not daemons.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
