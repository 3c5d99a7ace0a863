"""The worker's main loop: read the load request, then batches, answer each, then exit.

Worker and parent exchange the typed messages of :mod:`.messages`.

Process set-up mirrors TorchServe's ``model_service_worker``: the working directory is the
model directory and ``PYTHONPATH`` puts it ahead of the standard library (both set by the
parent); logging goes to the log stream with the format ``%(message)s`` at INFO. The
protocol uses two dedicated pipes, so file descriptor 1 is pointed at the log stream: what a
handler prints can never corrupt the answers. The pipes are not inherited by the programs a
handler starts, and children it forks see /dev/null in their place.

The worker dies with the ``mar`` process that started it (:mod:`.lifeline`): a ``kill -9``
of ``mar run`` does not leave it running. When the last answer is out, the worker ends with
``os._exit``: threads a handler started and never stopped cannot keep it alive (the parent
also kills the worker's process group, for processes the handler started).
"""

# Why: os.path: the worker starts before anything else is imported.
# ruff: noqa: PTH100, PTH120

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import IO, NoReturn

from .bytecode import keep_model_files_unchanged
from .devices import DeviceUnavailable, TorchProbe
from .failure import Failure
from .lifeline import tie_to_parent
from .loader import HandlerError
from .messages import (
    BatchResponse,
    Fatal,
    Frame,
    Loaded,
    LoadFailure,
    LoadRequest,
    Message,
    MessageError,
    Predict,
    Streamed,
    receive,
    send,
)
from .metrics_capture import MetricsCapture
from .service import MetricsConfigError, Service, load_model


class Channel:
    """The two protocol pipes, carrying typed messages."""

    def __init__(self, incoming: IO[bytes], outgoing: IO[bytes]) -> None:
        self.incoming = incoming
        self.outgoing = outgoing

    def receive(self) -> Message | None:
        """The parent's next message, or None when it closed its end."""
        return receive(self.incoming)

    def send(self, message: Message) -> None:
        send(self.outgoing, message)


def main(argv: list[str]) -> NoReturn:
    """Entry point (called by ``entry.py``); never returns."""
    parser = argparse.ArgumentParser(prog="mar-worker")
    parser.add_argument("--in-fd", type=int, required=True)
    parser.add_argument("--out-fd", type=int, required=True)
    parser.add_argument("--compat-dir", required=True)
    parser.add_argument("--parent-pid", type=int)
    parser.add_argument("--lifeline-fd", type=int)
    args = parser.parse_args(argv)
    if args.lifeline_fd is not None:
        os.set_inheritable(args.lifeline_fd, False)
    if args.parent_pid is not None:
        tie_to_parent(args.parent_pid, args.lifeline_fd)
    for fd in (args.in_fd, args.out_fd):
        os.set_inheritable(fd, False)  # processes the handler starts must not hold them
    os.register_at_fork(after_in_child=lambda: _release(args.in_fd, args.out_fd))
    channel = Channel(os.fdopen(args.in_fd, "rb"), os.fdopen(args.out_fd, "wb"))
    _redirect_stdout()
    capture = MetricsCapture()
    _configure_logging(capture)
    # mar-tools' `ts` is the fall-back: a real torchserve on the path wins (it comes first).
    sys.path.append(args.compat_dir)
    keep_model_files_unchanged(os.getcwd())  # noqa: PTH109 (started in the model directory)
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
    capture.handler = handler
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _serve(channel: Channel, capture: MetricsCapture) -> None:
    """Load the model the first message asks for, then answer each batch until the input
    ends. Any other message is a protocol error (:class:`MessageError`, reported as fatal)."""
    message = channel.receive()
    if message is None:
        return
    if not isinstance(message, LoadRequest):
        raise MessageError(f"expected a 'load' message first, got {message.TYPE!r}")
    load = message
    service = _load(channel, capture, load)
    if service is None:
        return
    while (message := channel.receive()) is not None:
        if not isinstance(message, Predict):
            raise MessageError(f"expected a 'predict' message, got {message.TYPE!r}")
        outcome = service.predict(message.requests, _forwarder(channel, load, message.batch_id))
        channel.send(
            BatchResponse(
                batch_id=message.batch_id,
                frames=(*outcome.streamed, outcome.response),
                elapsed_ms=outcome.elapsed_ms,
                failure=outcome.failure,
                warnings=tuple(outcome.warnings),
                metrics=tuple(capture.drain()),
            )
        )


def _forwarder(
    channel: Channel, load: LoadRequest, batch_id: int
) -> Callable[[Frame], None] | None:
    """Sends each streamed frame at once when the parent asked for it (``stream_live``)."""
    if not load.stream_live:
        return None
    return lambda frame: channel.send(Streamed(batch_id, (frame,)))


def _load(channel: Channel, capture: MetricsCapture, request: LoadRequest) -> Service | None:
    start = time.perf_counter()
    failure: LoadFailure | None = None
    try:
        service = load_model(request, TorchProbe())
    except DeviceUnavailable as exc:
        failure = LoadFailure("device", exc.message, exc.hint)
    except MetricsConfigError as exc:
        failure = LoadFailure("metrics-config", str(exc))
    except HandlerError as exc:
        failure = LoadFailure("handler", exc.message, exc.hint)
    except Exception as exc:
        described = Failure.from_exception(exc)
        failure = LoadFailure("exception", described.message, failure=described)
    if failure is not None:
        channel.send(dataclasses.replace(failure, metrics=tuple(capture.drain())))
        return None
    metric_module = sys.modules.get("ts.metrics.caching_metric")
    if metric_module is not None and hasattr(metric_module, "line_sink"):  # mar-tools' ts
        setattr(metric_module, "line_sink", capture.take)  # noqa: B010
    ts = importlib.import_module("ts")
    channel.send(
        Loaded(
            load_ms=(time.perf_counter() - start) * 1000,
            entry_point=service.entry.description,
            ts_package=os.path.dirname(os.path.abspath(ts.__file__ or "")),
            warnings=tuple(service.entry.warnings),
            metrics=tuple(capture.drain()),
        )
    )
    return service


def _report_fatal(channel: Channel, reason: str, exc: BaseException) -> int:
    # If the parent is gone or the pipe is broken, there is nobody left to tell.
    with contextlib.suppress(Exception):
        channel.send(Fatal(reason, Failure.from_exception(exc)))
    return 3


def _finish(code: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    # os._exit: lingering non-daemon threads of the handler must not keep the worker alive.
    os._exit(code)
