"""The messages between ``mar`` and its worker, typed, defined once for both sides.

Parent to worker: one :class:`LoadRequest`, then a :class:`Predict` per batch. Worker to
parent: the load is answered by :class:`Loaded` or :class:`LoadFailure`, each batch by a
:class:`BatchResponse` with the same ``batch_id``, and :class:`Fatal` ends the conversation
whenever the worker itself fails. A worker answers batches in the order it receives them
until its input ends, so one worker can serve a long stream of batches; request ids tie
each answer to its request.

Each message is a frozen dataclass with ``to_json()`` (a JSON header and the blobs, as
:mod:`.wire` frames them: request and response bodies travel as raw bytes) and
``from_json(header, blobs)``. Every header carries ``type`` and ``version``; reading a
message of another :data:`PROTOCOL_VERSION`, of an unknown type or with a missing or
mistyped field raises :class:`MessageError` naming it. Standard library only and relative
imports only: the worker loads this package as ``_mar_worker``, the parent imports it as
``mar_tools.worker.messages``.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, ClassVar, Final, Literal, TypeAlias

# The payload types are exported too: the parent reads and builds messages from here alone.
from .encoding import Frame as Frame
from .encoding import FrameEntry as FrameEntry
from .failure import Failure as Failure
from .fields import Blobs, Fields
from .fields import MessageError as MessageError
from .inputs import Parameter as Parameter
from .inputs import Request as Request
from .wire import read_message, write_message

#: Incremented whenever a message changes shape or meaning; both sides must speak the same.
PROTOCOL_VERSION: Final = 1

Header: TypeAlias = dict[str, Any]
Encoded: TypeAlias = tuple[Header, list[bytes]]

LoadFailureKind: TypeAlias = Literal["device", "metrics-config", "handler", "exception"]
LOAD_FAILURE_KINDS: Final[tuple[LoadFailureKind, ...]] = (
    "device",
    "metrics-config",
    "handler",
    "exception",
)


def _header(message: Any, *, skip: tuple[str, ...] = (), **special: Any) -> Header:
    """The header of *message*: its type and version, then each field under its own name
    (tuples as lists, a :class:`Failure` as an object), but *special* ones as given and
    *skip* ones (sent as blobs) not at all."""
    header: Header = {"type": message.TYPE, "version": PROTOCOL_VERSION}
    for field in dataclasses.fields(message):
        name = field.name
        if name in special:
            header[name] = special[name]
        elif name not in skip:
            value = getattr(message, name)
            if isinstance(value, Failure):
                value = value.to_json()
            header[name] = list(value) if isinstance(value, tuple) else value
    return header


def _opened(header: Mapping[str, Any], kind: str) -> Fields:
    """The fields of *header* once its version and type are the expected ones."""
    _check_version(header)
    if header.get("type") != kind:
        raise MessageError(f"expected a {kind!r} message, got {header.get('type')!r}")
    return Fields(header, f"{kind!r} message")


def _check_version(header: Mapping[str, Any]) -> None:
    version = header.get("version")
    if version != PROTOCOL_VERSION:
        found = "no protocol version" if version is None else f"protocol version {version!r}"
        raise MessageError(
            f"a {header.get('type')!r} message with {found} cannot be read by protocol "
            f"version {PROTOCOL_VERSION}: the worker and mar must come from the same mar-tools"
        )


def _unpickled(blob: bytes, where: str) -> Any:
    try:
        return pickle.loads(blob)
    except Exception as exc:
        raise MessageError(f"{where}: a document blob does not unpickle ({exc})") from exc


def _failure(fields: Fields, name: str) -> Failure | None:
    found = fields.optional_object(name)
    return None if found is None else Failure.from_json(found)


# -- parent -> worker --------------------------------------------------------------------


@dataclass(frozen=True)
class LoadRequest:
    """Load the model (the fields of TorchServe's load message). The two documents travel
    pickled (YAML may hold values JSON cannot): the parsed metrics configuration and
    ``model-config.yaml``."""

    TYPE: ClassVar[str] = "load"

    model_name: str
    model_dir: str
    handler: str
    device: str
    device_index: int | None
    device_flag: str
    batch_size: int
    envelope: str | None
    limit_max_image_pixels: bool
    metrics_config: str
    metrics_document: Any
    model_yaml_config: Any
    #: The parsed ``MAR-INF/MANIFEST.json`` (the parent has read it already).
    manifest: Any

    def to_json(self) -> Encoded:
        header = _header(self, skip=("metrics_document", "model_yaml_config"))
        documents = (self.metrics_document, self.model_yaml_config)
        return header, [pickle.dumps(document, protocol=4) for document in documents]

    @classmethod
    def from_json(cls, header: Mapping[str, Any], blobs: Sequence[bytes]) -> LoadRequest:
        fields = _opened(header, cls.TYPE)
        documents = Blobs(blobs, fields.where)
        return documents.finish(
            cls(
                model_name=fields.text("model_name"),
                model_dir=fields.text("model_dir"),
                handler=fields.text("handler"),
                device=fields.text("device"),
                device_index=fields.optional_integer("device_index"),
                device_flag=fields.text("device_flag"),
                batch_size=fields.integer("batch_size"),
                envelope=fields.optional_text("envelope"),
                limit_max_image_pixels=fields.flag("limit_max_image_pixels"),
                metrics_config=fields.text("metrics_config"),
                metrics_document=_unpickled(documents.take(), fields.where),
                model_yaml_config=_unpickled(documents.take(), fields.where),
                manifest=fields.value("manifest"),
            )
        )


@dataclass(frozen=True)
class Predict:
    """Run one batch. Parameter values travel as blobs, in request then parameter order."""

    TYPE: ClassVar[str] = "predict"

    batch_id: int
    requests: tuple[Request, ...]

    def to_json(self) -> Encoded:
        requests = [request.to_json() for request in self.requests]
        values = [p.value for request in self.requests for p in request.parameters]
        return _header(self, requests=requests), values

    @classmethod
    def from_json(cls, header: Mapping[str, Any], blobs: Sequence[bytes]) -> Predict:
        fields = _opened(header, cls.TYPE)
        values = Blobs(blobs, fields.where)
        requests = tuple(Request.from_json(item, values) for item in fields.objects("requests"))
        return values.finish(cls(fields.integer("batch_id"), requests))


# -- worker -> parent --------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """The handler is initialized: how long that took, which entry point and ``ts`` package
    it runs with, the loader's warnings and the metric lines logged while loading."""

    TYPE: ClassVar[str] = "loaded"

    load_ms: float
    entry_point: str
    ts_package: str
    warnings: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()

    def to_json(self) -> Encoded:
        return _header(self), []

    @classmethod
    def from_json(cls, header: Mapping[str, Any], blobs: Sequence[bytes]) -> Loaded:
        fields = _opened(header, cls.TYPE)
        return Blobs(blobs, fields.where).finish(
            cls(
                load_ms=fields.number("load_ms"),
                entry_point=fields.text("entry_point"),
                ts_package=fields.text("ts_package"),
                warnings=fields.texts("warnings"),
                metrics=fields.texts("metrics"),
            )
        )


@dataclass(frozen=True)
class LoadFailure:
    """The model did not load. ``kind``: ``device`` (the device is not there), ``metrics-config``
    (a malformed metrics configuration), ``handler`` (no entry point found) or ``exception``
    (the handler's import or ``initialize`` raised: ``failure`` says what)."""

    TYPE: ClassVar[str] = "load_failed"

    kind: LoadFailureKind
    message: str
    hint: str | None = None
    failure: Failure | None = None
    metrics: tuple[str, ...] = ()

    def to_json(self) -> Encoded:
        return _header(self), []

    @classmethod
    def from_json(cls, header: Mapping[str, Any], blobs: Sequence[bytes]) -> LoadFailure:
        fields = _opened(header, cls.TYPE)
        kind = fields.text("kind")
        if kind not in LOAD_FAILURE_KINDS:
            raise MessageError(f"{fields.where}: unknown failure kind {kind!r}")
        failure = _failure(fields, "failure")
        if kind == "exception" and failure is None:
            raise MessageError(f"{fields.where}: an 'exception' failure needs its 'failure'")
        return Blobs(blobs, fields.where).finish(
            cls(
                kind=kind,
                message=fields.text("message"),
                hint=fields.optional_text("hint"),
                failure=failure,
                metrics=fields.texts("metrics"),
            )
        )


@dataclass(frozen=True)
class BatchResponse:
    """The answer to :class:`Predict` ``batch_id``: the frames the handler streamed, then the
    batch's final frame (``frames[-1]``); bodies travel as blobs in frame then entry order.
    ``failure`` is the exception behind an error frame; ``warnings`` what the service noticed
    about the handler's results; ``metrics`` the metric lines logged while it ran."""

    TYPE: ClassVar[str] = "response"

    batch_id: int
    frames: tuple[Frame, ...]
    elapsed_ms: float
    failure: Failure | None = None
    warnings: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()

    @property
    def final(self) -> Frame:
        """The frame that answers the batch (after any streamed ones)."""
        return self.frames[-1]

    def to_json(self) -> Encoded:
        frames = [frame.to_json() for frame in self.frames]
        bodies = [entry.body for frame in self.frames for entry in frame.entries]
        return _header(self, frames=frames), bodies

    @classmethod
    def from_json(cls, header: Mapping[str, Any], blobs: Sequence[bytes]) -> BatchResponse:
        fields = _opened(header, cls.TYPE)
        bodies = Blobs(blobs, fields.where)
        frames = tuple(Frame.from_json(item, bodies) for item in fields.objects("frames"))
        if not frames:
            raise MessageError(f"{fields.where}: no frames (the final one is missing)")
        return bodies.finish(
            cls(
                batch_id=fields.integer("batch_id"),
                frames=frames,
                elapsed_ms=fields.number("elapsed_ms"),
                failure=_failure(fields, "failure"),
                warnings=fields.texts("warnings"),
                metrics=fields.texts("metrics"),
            )
        )


@dataclass(frozen=True)
class Fatal:
    """The worker failed outside any handler call it could answer for (``reason`` says how,
    ``failure`` with what exception) and is ending."""

    TYPE: ClassVar[str] = "fatal"

    reason: str
    failure: Failure

    def to_json(self) -> Encoded:
        return _header(self), []

    @classmethod
    def from_json(cls, header: Mapping[str, Any], blobs: Sequence[bytes]) -> Fatal:
        fields = _opened(header, cls.TYPE)
        failure = _failure(fields, "failure")
        if failure is None:
            raise MessageError(f"{fields.where}: field 'failure' must be an object, not null")
        return Blobs(blobs, fields.where).finish(cls(fields.text("reason"), failure))


ToWorker: TypeAlias = LoadRequest | Predict
FromWorker: TypeAlias = Loaded | LoadFailure | BatchResponse | Fatal
Message: TypeAlias = ToWorker | FromWorker

_CLASSES: Final[dict[str, type[Message]]] = {
    cls.TYPE: cls for cls in (LoadRequest, Predict, Loaded, LoadFailure, BatchResponse, Fatal)
}


def decode(header: Mapping[str, Any], blobs: Sequence[bytes]) -> Message:
    """The message *header* and *blobs* hold, whatever its type; :class:`MessageError` when
    it is of another protocol version, of an unknown type or malformed."""
    _check_version(header)
    kind = header.get("type")
    cls = _CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise MessageError(f"unknown message type {kind!r}")
    return cls.from_json(header, blobs)


def send(stream: IO[bytes], message: Message) -> None:
    """Write *message* to *stream* (framed by :mod:`.wire`) and flush it."""
    header, blobs = message.to_json()
    write_message(stream, header, blobs)


def receive(stream: IO[bytes]) -> Message | None:
    """The next message on *stream*, or None at a clean end of the stream. Raises
    ``WireError`` for a broken stream and :class:`MessageError` for an unreadable message."""
    received = read_message(stream)
    return None if received is None else decode(*received)
