"""The worker's main loop: read the load request, then batches, answer each, then exit.

Process set-up mirrors TorchServe's ``model_service_worker``: the working directory is the
model directory and ``PYTHONPATH`` puts it ahead of the standard library (both set by the
parent); logging goes to the log stream with the format ``%(message)s`` at INFO. The
protocol uses two dedicated pipes, so file descriptor 1 is pointed at the log stream: what a
handler prints can never corrupt the answers. The pipes are not inherited by the programs a
handler starts, and children it forks see /dev/null in their place.

When the last answer is out, the worker ends with ``os._exit``: threads a handler started
and never stopped cannot keep it alive (the parent also kills the worker's process group,
for processes the handler started).
"""

# Why: os.path: the worker starts before anything else is imported.
# ruff: noqa: PTH100, PTH120

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import pickle
import sys
import time
from typing import IO, Any, NoReturn

from .devices import DeviceUnavailable, TorchProbe
from .failure import Failure
from .inputs import requests_from_message
from .loader import HandlerError
from .metrics_capture import MetricsCapture
from .service import BatchOutcome, LoadRequest, MetricsConfigError, Service, load_model
from .wire import read_message, write_message


class Channel:
    """The two protocol pipes."""

    def __init__(self, incoming: IO[bytes], outgoing: IO[bytes]) -> None:
        self.incoming = incoming
        self.outgoing = outgoing

    def receive(self) -> tuple[dict[str, Any], list[bytes]] | None:
        return read_message(self.incoming)

    def send(self, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        write_message(self.outgoing, header, blobs or [])


def main(argv: list[str]) -> NoReturn:
    """Entry point (called by ``entry.py``); never returns."""
    parser = argparse.ArgumentParser(prog="mar-worker")
    parser.add_argument("--in-fd", type=int, required=True)
    parser.add_argument("--out-fd", type=int, required=True)
    parser.add_argument("--compat-dir", required=True)
    args = parser.parse_args(argv)
    for fd in (args.in_fd, args.out_fd):
        os.set_inheritable(fd, False)  # processes the handler starts must not hold them
    os.register_at_fork(after_in_child=lambda: _release(args.in_fd, args.out_fd))
    channel = Channel(os.fdopen(args.in_fd, "rb"), os.fdopen(args.out_fd, "wb"))
    _redirect_stdout()
    capture = MetricsCapture()
    _configure_logging(capture)
    # mar-tools' `ts` is the fall-back: a real torchserve on the path wins (it comes first).
    sys.path.append(args.compat_dir)
    code = 0
    try:
        _serve(channel, capture)
    except SystemExit as exc:
        code = _report_fatal(channel, f"the handler called sys.exit({exc.code!r})", exc)
    except BaseException as exc:
        code = _report_fatal(channel, "the worker failed", exc)
    _finish(code)


def _release(*fds: int) -> None:
    """In a child the handler forks (``multiprocessing``'s fork start method): point the
    protocol pipes at /dev/null. A child holding them would keep the parent waiting for the
    end of the stream after the worker died, and could write into the conversation."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in fds:
        os.dup2(devnull, fd, inheritable=False)
    os.close(devnull)


def _redirect_stdout() -> None:
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(line_buffering=True)


def _configure_logging(capture: MetricsCapture) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(capture)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _serve(channel: Channel, capture: MetricsCapture) -> None:
    received = channel.receive()
    if received is None:
        return
    header, blobs = received
    service = _load(channel, capture, header, blobs)
    if service is None:
        return
    while (received := channel.receive()) is not None:
        header, blobs = received
        if header.get("type") != "predict":
            return
        outcome = service.predict(requests_from_message(header, blobs))
        _send_outcome(channel, capture, header, outcome)


def _load(
    channel: Channel, capture: MetricsCapture, header: dict[str, Any], blobs: list[bytes]
) -> Service | None:
    start = time.perf_counter()
    request = LoadRequest(
        model_name=header["model_name"],
        model_dir=header["model_dir"],
        handler=header["handler"],
        device=header["device"],
        device_index=header["device_index"],
        device_flag=header["device_flag"],
        batch_size=header["batch_size"],
        envelope=header["envelope"],
        limit_max_image_pixels=header["limit_max_image_pixels"],
        metrics_config=header["metrics_config"],
        metrics_document=pickle.loads(blobs[0]),
        model_yaml_config=pickle.loads(blobs[1]),
        manifest=header["manifest"],
    )
    failure: dict[str, Any] | None = None
    try:
        service = load_model(request, TorchProbe())
    except DeviceUnavailable as exc:
        failure = {"kind": "device", "message": exc.message, "hint": exc.hint}
    except MetricsConfigError as exc:
        failure = {"kind": "metrics-config", "message": str(exc)}
    except HandlerError as exc:
        failure = {"kind": "handler", "message": exc.message, "hint": exc.hint}
    except Exception as exc:
        failure = {"kind": "exception", **Failure.from_exception(exc).to_json()}
    if failure is not None:
        channel.send({"type": "load_failed", "metrics": capture.drain(), **failure})
        return None
    ts = importlib.import_module("ts")
    channel.send(
        {
            "type": "loaded",
            "load_ms": (time.perf_counter() - start) * 1000,
            "entry_point": service.entry.description,
            "ts_package": os.path.dirname(os.path.abspath(ts.__file__ or "")),
            "warnings": service.entry.warnings,
            "metrics": capture.drain(),
        }
    )
    return service


def _send_outcome(
    channel: Channel, capture: MetricsCapture, header: dict[str, Any], outcome: BatchOutcome
) -> None:
    blobs: list[bytes] = []
    frames = []
    for frame in [*outcome.streamed, outcome.response]:
        entries = []
        for response in frame.responses:
            entries.append(
                {
                    "id": response.request_id,
                    "status": response.status,
                    "phrase": response.phrase,
                    "content_type": response.content_type,
                    "headers": response.headers,
                }
            )
            blobs.append(response.body)
        frames.append({"code": frame.code, "message": frame.message, "responses": entries})
    channel.send(
        {
            "type": "response",
            "batch": header.get("batch"),
            "frames": frames,
            "elapsed_ms": outcome.elapsed_ms,
            "failure": outcome.failure.to_json() if outcome.failure else None,
            "warnings": outcome.warnings,
            "metrics": capture.drain(),
        },
        blobs,
    )


def _report_fatal(channel: Channel, reason: str, exc: BaseException) -> int:
    # If the parent is gone or the pipe is broken, there is nobody left to tell.
    with contextlib.suppress(Exception):
        channel.send({"type": "fatal", "reason": reason, **Failure.from_exception(exc).to_json()})
    return 3


def _finish(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    # os._exit: lingering non-daemon threads of the handler must not keep the worker alive.
    os._exit(code)
