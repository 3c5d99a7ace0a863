"""The messages between ``mar`` and its worker, typed, defined once for both sides.

Parent to worker: one :class:`LoadRequest`, then a :class:`Predict` per batch. Worker to
parent: the load is answered by :class:`Loaded` or :class:`LoadFailure`, each batch by a
:class:`BatchResponse` with the same ``batch_id`` (preceded, when the load asked for
``stream_live``, by one :class:`Streamed` per part the handler streams), and :class:`Fatal`
ends the conversation
whenever the worker itself fails. A worker answers batches in the order it receives them
until its input ends, so one worker can serve a long stream of batches; request ids tie
each answer to its request.

Each message is a frozen dataclass with ``to_json()`` (a JSON header and the blobs, as
:mod:`.wire` frames them: request and response bodies travel as raw bytes) and
``from_json(header, blobs)``. The header holds ``type``, ``version`` and every field under
its own name, so the wire names cannot drift from the field names; each field is read back
with the check its annotation calls for. Reading a message of another
:data:`PROTOCOL_VERSION`, of an unknown type or with a missing or mistyped field raises
:class:`MessageError` naming it. Standard library only and relative imports only: the
worker loads this package as ``_mar_worker``, the parent imports it as
``mar_tools.worker.messages``.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, ClassVar, Final, Literal, Protocol, TypeAlias, TypeVar

from . import fast_readers

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
PROTOCOL_VERSION: Final = 2

Header: TypeAlias = dict[str, Any]
Encoded: TypeAlias = tuple[Header, list[bytes]]
LoadFailureKind: TypeAlias = Literal["device", "metrics-config", "handler", "exception"]
LOAD_FAILURE_KINDS: Final[tuple[LoadFailureKind, ...]] = (
    "device",
    "metrics-config",
    "handler",
    "exception",
)

M = TypeVar("M", bound="_Message")


def _failure(fields: Fields, name: str) -> Failure | None:
    found = fields.optional_object(name)
    return None if found is None else Failure.from_json(found)


def _required_failure(fields: Fields, name: str) -> Failure:
    failure = _failure(fields, name)
    if failure is None:
        raise MessageError(f"{fields.where}: field {name!r} must be an object, not null")
    return failure


def _failure_kind(fields: Fields, name: str) -> LoadFailureKind:
    kind = fields.text(name)
    if kind not in LOAD_FAILURE_KINDS:
        raise MessageError(f"{fields.where}: unknown failure kind {kind!r}")
    return kind


#: How a header field is read back, by the annotation of the dataclass field.
_READERS: Final[dict[str, Callable[[Fields, str], Any]]] = {
    "str": Fields.text,
    "str | None": Fields.optional_text,
    "int": Fields.integer,
    "int | None": Fields.optional_integer,
    "float": Fields.number,
    "bool": Fields.flag,
    "tuple[str, ...]": Fields.texts,
    "Any": Fields.value,
    "Failure": _required_failure,
    "Failure | None": _failure,
    "LoadFailureKind": _failure_kind,
}


class _Message:
    """What every message shares: the header and blobs it is written as and read from.

    :meth:`to_json` writes each field under its own name (tuples as lists, a
    :class:`Failure` as an object); :meth:`from_json` reads each back by its annotation. A
    message that carries blobs adjusts :meth:`to_json` and reads those fields in
    :meth:`_from_blobs`.
    """

    TYPE: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_json(self) -> Encoded:
        """The header and blobs of this message (framed by :mod:`.wire`)."""
        header: Header = {"type": self.TYPE, "version": PROTOCOL_VERSION}
        for name, _ in _readers_of(type(self)):
            value = getattr(self, name)
            if isinstance(value, Failure):
                value = value.to_json()
            header[name] = list(value) if isinstance(value, tuple) else value
        return header, []

    @classmethod
    def from_json(cls: type[M], header: Mapping[str, Any], blobs: Sequence[bytes]) -> M:
        """The message :meth:`to_json` wrote. Raises :class:`MessageError` for a message of
        another type or protocol version, a missing or mistyped field, or the wrong number
        of blobs."""
        _check_version(header)
        if header.get("type") != cls.TYPE:
            raise MessageError(f"expected a {cls.TYPE!r} message, got {header.get('type')!r}")
        try:
            quick = cls._read_quickly(header, blobs)
        except fast_readers.REREAD:
            quick = None  # the checked readers below say what is wrong
        if quick is not None:
            return quick
        fields = Fields(header, f"{cls.TYPE!r} message")
        taken = Blobs(blobs, fields.where)
        values = cls._from_blobs(fields, taken)
        for name, reader in _readers_of(cls):
            if name not in values:
                if reader is None:
                    raise KeyError(f"no reader for field {name!r} of {cls.__name__}")
                values[name] = reader(fields, name)
        return taken.finish(cls(**values))

    @classmethod
    def _from_blobs(cls, _fields: Fields, _blobs: Blobs, /) -> dict[str, Any]:
        """The fields that travel in blobs, read from *_blobs* in order (none here)."""
        return {}

    @classmethod
    def _read_quickly(
        cls: type[M], _header: Mapping[str, Any], _blobs: Sequence[bytes], /
    ) -> M | None:
        """The message read by :mod:`.fast_readers` (the messages of every batch have such a
        reader; None: this one has not). Raises one of ``fast_readers.REREAD`` when the
        message is not well-formed."""
        return None


_Readers: TypeAlias = tuple[tuple[str, Callable[[Fields, str], Any] | None], ...]
_READERS_OF: dict[type, _Readers] = {}


def _readers_of(cls: type) -> _Readers:
    """Each field of *cls* with the reader its annotation calls for (None: read from blobs),
    worked out once per class: a server reads thousands of messages a second."""
    found = _READERS_OF.get(cls)
    if found is None:
        found = tuple(
            (field.name, _READERS.get(str(field.type))) for field in dataclasses.fields(cls)
        )
        _READERS_OF[cls] = found
    return found


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


class _Part(Protocol):
    """What a message carries a list of (requests, frames): a header part and its blobs."""

    def to_json(self) -> dict[str, Any]: ...

    def blobs(self) -> list[bytes]: ...


def _with_parts(encoded: Encoded, name: str, parts: Sequence[_Part]) -> Encoded:
    """*encoded* with *parts* as its field *name*, and their blobs in order."""
    header, _ = encoded
    header[name] = [part.to_json() for part in parts]
    return header, [blob for part in parts for blob in part.blobs()]


# -- parent -> worker --------------------------------------------------------------------


@dataclass(frozen=True)
class LoadRequest(_Message):
    """Load the model (the fields of TorchServe's load message). The two documents travel
    pickled as blobs (YAML may hold values JSON cannot): the parsed metrics configuration
    and ``model-config.yaml``."""

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
    #: Send each part a handler streams as a :class:`Streamed` message at once (``mar
    #: serve``), instead of with the batch's :class:`BatchResponse` (``mar run``).
    stream_live: bool = False

    def to_json(self) -> Encoded:
        header, _ = super().to_json()
        documents = [header.pop("metrics_document"), header.pop("model_yaml_config")]
        return header, [pickle.dumps(document, protocol=4) for document in documents]

    @classmethod
    def _from_blobs(cls, fields: Fields, blobs: Blobs, /) -> dict[str, Any]:
        return {
            "metrics_document": _unpickled(blobs.take(), fields.where),
            "model_yaml_config": _unpickled(blobs.take(), fields.where),
        }


@dataclass(frozen=True)
class Predict(_Message):
    """Run one batch. Parameter values travel as blobs, in request then parameter order."""

    TYPE: ClassVar[str] = "predict"

    batch_id: int
    requests: tuple[Request, ...]

    def to_json(self) -> Encoded:
        return _with_parts(super().to_json(), "requests", self.requests)

    @classmethod
    def _from_blobs(cls, fields: Fields, blobs: Blobs, /) -> dict[str, Any]:
        requests = (Request.from_json(item, blobs) for item in fields.objects("requests"))
        return {"requests": tuple(requests)}

    @classmethod
    def _read_quickly(cls, header: Mapping[str, Any], blobs: Sequence[bytes], /) -> Predict:
        batch_id = fast_readers.integer(header["batch_id"])
        return cls(batch_id, fast_readers.requests(header["requests"], blobs))


# -- worker -> parent --------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded(_Message):
    """The handler is initialized: how long that took, which entry point and ``ts`` package
    it runs with, the loader's warnings and the metric lines logged while loading."""

    TYPE: ClassVar[str] = "loaded"

    load_ms: float
    entry_point: str
    ts_package: str
    warnings: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadFailure(_Message):
    """The model did not load. ``kind``: ``device`` (the device is not there), ``metrics-config``
    (a malformed metrics configuration), ``handler`` (no entry point found) or ``exception``
    (the handler's import or ``initialize`` raised: ``failure`` says what)."""

    TYPE: ClassVar[str] = "load_failed"

    kind: LoadFailureKind
    message: str
    hint: str | None = None
    failure: Failure | None = None
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchResponse(_Message):
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
        return _with_parts(super().to_json(), "frames", self.frames)

    @classmethod
    def _from_blobs(cls, fields: Fields, blobs: Blobs, /) -> dict[str, Any]:
        frames = tuple(Frame.from_json(item, blobs) for item in fields.objects("frames"))
        if not frames:
            raise MessageError(f"{fields.where}: no frames (the final one is missing)")
        return {"frames": frames}

    @classmethod
    def _read_quickly(cls, header: Mapping[str, Any], blobs: Sequence[bytes], /) -> BatchResponse:
        frames = fast_readers.frames(header["frames"], blobs)
        if not frames:
            raise fast_readers.Reread
        return cls(
            fast_readers.integer(header["batch_id"]),
            frames,
            fast_readers.number(header["elapsed_ms"]),
            fast_readers.optional_failure(header["failure"]),
            fast_readers.texts(header["warnings"]),
            fast_readers.texts(header["metrics"]),
        )


@dataclass(frozen=True)
class Streamed(_Message):
    """One part the handler streamed (``send_intermediate_predict_response``) for batch
    ``batch_id``, sent as it happens when the load asked for ``stream_live``: ``frames``
    holds that one frame."""

    TYPE: ClassVar[str] = "streamed"

    batch_id: int
    frames: tuple[Frame, ...]

    def to_json(self) -> Encoded:
        return _with_parts(super().to_json(), "frames", self.frames)

    @classmethod
    def _from_blobs(cls, fields: Fields, blobs: Blobs, /) -> dict[str, Any]:
        return {"frames": tuple(Frame.from_json(item, blobs) for item in fields.objects("frames"))}

    @classmethod
    def _read_quickly(cls, header: Mapping[str, Any], blobs: Sequence[bytes], /) -> Streamed:
        batch_id = fast_readers.integer(header["batch_id"])
        return cls(batch_id, fast_readers.frames(header["frames"], blobs))


@dataclass(frozen=True)
class Fatal(_Message):
    """The worker failed outside any handler call it could answer for (``reason`` says how,
    ``failure`` with what exception) and is ending."""

    TYPE: ClassVar[str] = "fatal"

    reason: str
    failure: Failure


ToWorker: TypeAlias = LoadRequest | Predict
FromWorker: TypeAlias = Loaded | LoadFailure | BatchResponse | Streamed | Fatal
Message: TypeAlias = ToWorker | FromWorker

_CLASSES: Final[dict[str, type[Message]]] = {
    cls.TYPE: cls
    for cls in (LoadRequest, Predict, Loaded, LoadFailure, BatchResponse, Streamed, Fatal)
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
