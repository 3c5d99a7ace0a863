"""The typed messages between ``mar`` and its worker: every message survives the real wire
framing unchanged, and a message of another protocol version or a malformed one is refused
with a sentence naming the message and field, on both sides of a real pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

from mar_tools.core.errors import WorkerDied
from mar_tools.run.conversation import expect_loaded, expect_response
from mar_tools.run.process import COMPAT_DIR, ENTRY_SCRIPT, WorkerProcess
from mar_tools.worker import messages
from mar_tools.worker.messages import (
    PROTOCOL_VERSION,
    BatchResponse,
    Failure,
    Fatal,
    Frame,
    FrameEntry,
    Loaded,
    LoadFailure,
    LoadRequest,
    MessageError,
    Parameter,
    Predict,
    Request,
    Streamed,
)
from mar_tools.worker.wire import read_message, write_message

FAILURE = Failure(
    "ValueError", "bad ünïcode", 'Traceback (most recent call last):\n  File "h.py"\n'
)

#: One value of every message type, each field set to something other than its default.
EXAMPLES: tuple[messages.Message, ...] = (
    LoadRequest(
        model_name="m",
        model_dir="/models/m",
        handler="dir/handler.py:fn",
        device="cuda",
        device_index=1,
        device_flag="--device cuda:1",
        batch_size=4,
        envelope="json",
        limit_max_image_pixels=False,
        metrics_config="/etc/metrics.yaml",
        # YAML documents hold values JSON cannot: they travel pickled.
        metrics_document={"dims": ("a", "b"), 1: {2.5, 3}},
        model_yaml_config={"handler": {"when": __import__("datetime").date(2024, 1, 2)}},
        manifest={"model": {"modelName": "m", "handler": "h.py"}, "runtime": "python"},
        stream_live=True,
    ),
    LoadRequest(
        model_name="m",
        model_dir="/m",
        handler="h",
        device="cpu",
        device_index=None,
        device_flag="",
        batch_size=1,
        envelope=None,
        limit_max_image_pixels=True,
        metrics_config="metrics.yaml",
        metrics_document=None,
        model_yaml_config={},
        manifest={},
    ),
    Predict(
        batch_id=7,
        requests=(
            Request(
                "id-1",
                (("Content-Type", "text/plain"), ("x", "1"), ("x", "2")),
                (Parameter("body", "text/plain", b"\x00\xffraw"), Parameter("", "", b"")),
            ),
            Request("id-2", (), ()),
            Request("id-3", (), (Parameter("data", "image/png", b"\x89PNG" * 1000),)),
        ),
    ),
    Predict(batch_id=0, requests=()),
    Loaded(
        load_ms=12.5,
        entry_point="handler.MyHandler.handle",
        ts_package="/site-packages/ts",
        warnings=("several classes",),
        metrics=("[METRICS]a|#x", "[METRICS]b"),
    ),
    Loaded(load_ms=3, entry_point="", ts_package=""),
    LoadFailure("device", "only 1 CUDA device is visible", hint="use --gpu 0", metrics=("m",)),
    LoadFailure("metrics-config", "KeyError: 'unit'"),
    LoadFailure("handler", "no handle function", hint="define handle()"),
    LoadFailure("exception", FAILURE.message, failure=FAILURE),
    BatchResponse(
        batch_id=3,
        frames=(
            Frame(
                200,
                "Intermediate",
                (FrameEntry("id-1", 200, "", "text/event-stream", {"b": "2", "a": "1"}, b"one"),),
            ),
            Frame(
                503,
                "Prediction failed",
                (
                    FrameEntry("id-1", 503, "Nope", "", {}, b"\x00"),
                    FrameEntry("id-2", 503, "", "application/json", {"k": "v"}, b""),
                ),
            ),
        ),
        elapsed_ms=1.25,
        failure=FAILURE,
        warnings=("the handler returned 1 results for a batch of 2 requests",),
        metrics=("[METRICS]PredictionTime.Milliseconds:1.0|#",),
    ),
    BatchResponse(batch_id=0, frames=(Frame(200, "Prediction success"),), elapsed_ms=0.0),
    Streamed(
        batch_id=5,
        frames=(Frame(200, "Intermediate", (FrameEntry("id-9", 200, "", "", {}, b"part"),)),),
    ),
    Fatal("the handler called sys.exit(3)", FAILURE),
)


def _through_the_wire(message: messages.Message) -> messages.Message | None:
    stream = io.BytesIO()
    messages.send(stream, message)
    stream.seek(0)
    received = messages.receive(stream)
    assert messages.receive(stream) is None  # exactly one message was written
    return received


def test_the_examples_cover_every_message_type() -> None:
    assert {type(example) for example in EXAMPLES} == set(typing.get_args(messages.Message))
    assert {cls.TYPE for cls in typing.get_args(messages.Message)} == {
        "load", "predict", "loaded", "load_failed", "response", "streamed", "fatal",
    }  # fmt: skip


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_the_wire(message: messages.Message) -> None:
    assert _through_the_wire(message) == message
    header, blobs = message.to_json()
    assert header["type"] == message.TYPE and header["version"] == PROTOCOL_VERSION
    assert type(message).from_json(header, blobs) == message


def test_bodies_travel_as_blobs_not_in_the_header() -> None:
    predict = EXAMPLES[2]
    header, blobs = predict.to_json()
    assert blobs == [b"\x00\xffraw", b"", b"\x89PNG" * 1000]
    assert "PNG" not in repr(header)
    stream = io.BytesIO()
    messages.send(stream, predict)
    stream.seek(0)
    assert read_message(stream) == (header, blobs)  # the framing carries them as they are


def _header(message: messages.Message, **changes: Any) -> tuple[dict[str, Any], list[bytes]]:
    header, blobs = message.to_json()
    for name, value in changes.items():
        if value is _MISSING:
            del header[name]
        else:
            header[name] = value
    return header, blobs


_MISSING = object()
LOADED = Loaded(load_ms=1.0, entry_point="h.handle", ts_package="/ts")
INCOMPATIBLE = (
    "a 'loaded' message with protocol version 3 cannot be read by protocol version 2: "
    "the worker and mar must come from the same mar-tools"
)


@pytest.mark.parametrize(
    ("version", "found"),
    [(3, "protocol version 3"), ("2", "protocol version '2'"), (_MISSING, "no protocol version")],
)
def test_another_protocol_version_is_refused_by_name(version: object, found: str) -> None:
    header, blobs = _header(LOADED, version=version)
    expected = f"a 'loaded' message with {found} cannot be read by protocol version 2: "
    with pytest.raises(MessageError) as raised:
        messages.decode(header, blobs)
    assert str(raised.value).startswith(expected)
    with pytest.raises(MessageError, match="cannot be read by protocol version 2"):
        Loaded.from_json(header, blobs)


@pytest.mark.parametrize(
    ("message", "changes", "blobs", "error"),
    [
        (LOADED, {"type": "sideways"}, None, "unknown message type 'sideways'"),
        (LOADED, {"type": _MISSING}, None, "unknown message type None"),
        (LOADED, {"entry_point": _MISSING}, None,
         "'loaded' message: field 'entry_point' is missing"),
        (LOADED, {"load_ms": "fast"}, None,
         "'loaded' message: field 'load_ms' must be a number, not a str"),
        (LOADED, {"warnings": ["ok", 3]}, None,
         "'loaded' message: field 'warnings' must be a list of strings, "
         "not a list with other items"),
        (LOADED, {}, [b"stray"], "'loaded' message: 1 blobs for a header that describes 0"),
        (EXAMPLES[0], {"batch_size": True}, None,
         "'load' message: field 'batch_size' must be an integer, not a boolean"),
        (EXAMPLES[0], {"device_index": 1.5}, None,
         "'load' message: field 'device_index' must be an integer or null, not a float"),
        (EXAMPLES[0], {}, [b"not a pickle", b""],
         "'load' message: a document blob does not unpickle "
         "(invalid load key, 'n'.)"),
        (EXAMPLES[2], {}, [b"only one"],
         "'predict' message: the header describes more than its 1 blobs"),
        (EXAMPLES[2], {"requests": {"id": "x"}}, [],
         "'predict' message: field 'requests' must be a list of objects, not an object"),
        (EXAMPLES[2], {"requests": [{"id": "x", "headers": [["a"]], "parameters": []}]}, [],
         "'predict' message, requests[0]: field 'headers' must be a list of "
         "[string, string] pairs, not a list with other items"),
        (EXAMPLES[10], {"frames": []}, [],
         "'response' message: no frames (the final one is missing)"),
        (EXAMPLES[10], {"frames": [{"code": 200, "message": "", "entries": [{"id": "a"}]}]}, [b""],
         "'response' message, frames[0], entries[0]: field 'status' is missing"),
        (EXAMPLES[10], {"failure": {"error_type": "E", "message": "m"}}, None,
         "'response' message, failure: field 'traceback' is missing"),
        (EXAMPLES[6], {"kind": "gremlins"}, None,
         "'load_failed' message: unknown failure kind 'gremlins'"),
        (EXAMPLES[9], {"hint": 3}, None,
         "'load_failed' message: field 'hint' must be a string or null, not an int"),
        (EXAMPLES[-1], {"failure": None}, None,
         "'fatal' message: field 'failure' must be an object, not null"),
        # The per-batch messages: what their quick readers refuse, the checked ones explain.
        (EXAMPLES[2], {"batch_id": True}, None,
         "'predict' message: field 'batch_id' must be an integer, not a boolean"),
        (EXAMPLES[2], {}, [b"\x00\xffraw", b"", b"png", b"stray"],
         "'predict' message: 4 blobs for a header that describes 3"),
        (EXAMPLES[10], {"elapsed_ms": True}, None,
         "'response' message: field 'elapsed_ms' must be a number, not a boolean"),
        (EXAMPLES[10], {"metrics": "[METRICS]x"}, None,
         "'response' message: field 'metrics' must be a list of strings, not a str"),
        (EXAMPLES[10], {}, [b"one", b"\x00"],
         "'response' message: the header describes more than its 2 blobs"),
        (EXAMPLES[11], {"frames": [{"code": 200, "message": "", "entries": []}, 7]}, [],
         "'response' message: field 'frames' must be a list of objects, "
         "not a list with other items"),
        (EXAMPLES[12], {"frames": [{"code": 200, "message": "", "entries": [
            {"id": "a", "status": 200, "phrase": "", "content_type": "", "headers": {"k": 1}}]}]},
         [b""], "'streamed' message, frames[0], entries[0]: field 'headers' must be an object "
         "of strings, not an object with other values"),
    ],
)  # fmt: skip
def test_a_malformed_message_is_refused_by_name(
    message: messages.Message, changes: dict[str, Any], blobs: list[bytes] | None, error: str
) -> None:
    header, encoded_blobs = _header(message, **changes)
    with pytest.raises(MessageError) as raised:
        messages.decode(header, encoded_blobs if blobs is None else blobs)
    assert str(raised.value) == error


#: The messages of every batch, which have quick readers (``mar serve`` reads thousands).
PER_BATCH = [m for m in EXAMPLES if isinstance(m, (Predict, BatchResponse, Streamed))]


@pytest.mark.parametrize("message", PER_BATCH, ids=lambda m: type(m).__name__)
def test_the_quick_reader_reads_what_the_checked_readers_read(
    message: messages.Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    header, blobs = _through_the_wire_raw(message)
    quick = messages.decode(header, blobs)
    # Without the quick reader, the checked readers read the same message.
    monkeypatch.setattr(type(message), "_read_quickly", classmethod(lambda *_: None))
    assert messages.decode(header, blobs) == quick == message


@pytest.mark.parametrize("message", PER_BATCH, ids=lambda m: type(m).__name__)
def test_a_well_formed_batch_message_is_read_without_the_checked_readers(
    message: messages.Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the checked readers were used")

    monkeypatch.setattr(messages, "Fields", refuse)
    assert messages.decode(*_through_the_wire_raw(message)) == message


def _through_the_wire_raw(message: messages.Message) -> tuple[dict[str, Any], list[bytes]]:
    stream = io.BytesIO()
    messages.send(stream, message)
    stream.seek(0)
    received = read_message(stream)
    assert received is not None
    return received


def test_from_json_refuses_another_message_type() -> None:
    header, blobs = LOADED.to_json()
    with pytest.raises(MessageError, match=r"^expected a 'fatal' message, got 'loaded'$"):
        Fatal.from_json(header, blobs)


def _stand_in_worker(header: dict[str, Any], blobs: list[bytes]) -> WorkerProcess:
    """A worker that writes one raw message (*header*, *blobs*) and exits."""
    stream = io.BytesIO()
    write_message(stream, header, blobs)
    code = f"import sys; sys.stdout.buffer.write({stream.getvalue()!r})"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdin is not None and process.stdout is not None
    return WorkerProcess(process, process.stdin, process.stdout)


def test_the_parent_reports_an_unreadable_answer_as_a_dead_worker(tmp_path: Path) -> None:
    with _stand_in_worker(*_header(LOADED, version=3)) as worker, pytest.raises(WorkerDied) as died:
        expect_loaded(worker, tmp_path / "metrics.yaml")
    assert died.value.message == f"the worker sent a message mar cannot read: {INCOMPATIBLE}"


def test_the_parent_reports_an_answer_to_another_batch(tmp_path: Path) -> None:
    answer = BatchResponse(batch_id=4, frames=(Frame(200, "ok"),), elapsed_ms=1.0)
    with _stand_in_worker(*answer.to_json()) as worker, pytest.raises(WorkerDied) as died:
        expect_response(worker, 1)
    assert died.value.message == "the worker answered batch 5 while handling batch 2."


def test_the_parent_refuses_a_message_only_the_parent_sends(tmp_path: Path) -> None:
    with _stand_in_worker(*Predict(0, ()).to_json()) as worker, pytest.raises(WorkerDied) as died:
        expect_loaded(worker, tmp_path / "metrics.yaml")
    assert died.value.message == (
        "the worker sent a message mar cannot read: "
        "the worker sent a 'predict' message, which only mar sends"
    )


def test_the_worker_reports_a_request_of_another_version_as_fatal(tmp_path: Path) -> None:
    # The real worker, started as mar run starts it (its package loaded as _mar_worker).
    worker_in, parent_out = os.pipe()
    parent_in, worker_out = os.pipe()
    process = subprocess.Popen(
        [sys.executable, str(ENTRY_SCRIPT), "--in-fd", str(worker_in), "--out-fd",
         str(worker_out), "--compat-dir", str(COMPAT_DIR)],
        cwd=tmp_path,
        pass_fds=(worker_in, worker_out),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    os.close(worker_in)
    os.close(worker_out)
    to_worker = os.fdopen(parent_out, "wb")
    write_message(to_worker, *_header(EXAMPLES[1], version=PROTOCOL_VERSION + 1))
    with (
        WorkerProcess(process, to_worker, os.fdopen(parent_in, "rb")) as worker,
        pytest.raises(WorkerDied) as died,
    ):
        expect_loaded(worker, tmp_path / "metrics.yaml")
    assert died.value.message == (
        "the worker failed: MessageError: a 'load' message with protocol version 3 cannot be "
        "read by protocol version 2: the worker and mar must come from the same mar-tools"
    )
    assert process.returncode == 3


ECHO = """
import importlib, importlib.util, sys
here = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "_mar_worker", here + "/__init__.py", submodule_search_locations=[here]
)
package = importlib.util.module_from_spec(spec)
sys.modules["_mar_worker"] = package
spec.loader.exec_module(package)
messages = importlib.import_module("_mar_worker.messages")
importlib.import_module("_mar_worker.session")
while (message := messages.receive(sys.stdin.buffer)) is not None:
    messages.send(sys.stdout.buffer, message)
foreign = sorted(
    name for name in sys.modules
    if name.split(".")[0] not in {*sys.stdlib_module_names, "_mar_worker", "__main__"}
)
print(repr(foreign), file=sys.stderr, end="")
"""


def test_the_worker_package_reads_and_writes_every_message_with_the_standard_library() -> None:
    # As in the model's interpreter: the package loaded as _mar_worker, no site-packages.
    stream = io.BytesIO()
    for message in EXAMPLES:
        messages.send(stream, message)
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", ECHO, str(ENTRY_SCRIPT.parent)],
        input=stream.getvalue(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert done.stderr == b"[]"  # nothing but the standard library and the worker package
    echoed = io.BytesIO(done.stdout)
    assert [messages.receive(echoed) for _ in EXAMPLES] == list(EXAMPLES)
    assert messages.receive(echoed) is None
