"""What ``--input``, ``--data``, ``--content-type`` and ``--header`` turn into: the requests
TorchServe's frontend would build for the same HTTP calls.

* ``--input FILE`` / ``--input -`` / ``--data TEXT``: a raw body, like ``curl -T FILE``:
  one parameter named ``body`` whose content type is ``--content-type`` (else none).
* ``--input NAME=@FILE``: a multipart form field, like ``curl -F NAME=@FILE``: parameter
  NAME with ``--content-type``, else the type curl guesses from the file name.
* a raw body with ``--content-type application/x-www-form-urlencoded`` is decoded into one
  parameter per form field, as TorchServe does.

Headers are the ``--header``s (a ``Content-Type`` header sets the body's type like
``--content-type``), then ``url_path`` and ``explain``, which TorchServe adds for
``/predictions`` and ``/explanations``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from mar_tools.core.errors import UsageError
from mar_tools.run.headers import java_hashmap_order
from mar_tools.worker.messages import Parameter
from mar_tools.worker.messages import Request as WorkerRequest

__all__ = ["InputSpec", "Parameter", "Request", "build_requests", "curl_file_type", "parse_header"]

_FORM_FIELD = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)=@(?P<path>.+)$")
FORM_URLENCODED = "application/x-www-form-urlencoded"
#: curl's content types for uploaded files, by extension; anything else is octet-stream.
_CURL_TYPES = {
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
    ".htm": "text/html",
    ".html": "text/html",
    ".pdf": "application/pdf",
    ".xml": "application/xml",
}


@dataclass(frozen=True)
class InputSpec:
    """One request as asked for on the command line."""

    label: str
    field: str | None = None
    path: Path | None = None
    text: str | None = None

    @classmethod
    def parse_input(cls, value: str) -> InputSpec:
        """``FILE``, ``-`` (stdin), ``NAME=@FILE`` or ``NAME=@-``."""
        match = _FORM_FIELD.match(value)
        if match:
            path = match["path"]
            return cls(label=value, field=match["name"], path=None if path == "-" else Path(path))
        return cls(label=value, path=None if value == "-" else Path(value))

    @classmethod
    def from_data(cls, value: str, index: int) -> InputSpec:
        return cls(label=f"--data #{index}", text=value)

    @property
    def reads_stdin(self) -> bool:
        return self.path is None and self.text is None


@dataclass(frozen=True)
class Request(WorkerRequest):
    """One request as the worker receives it (id, headers in wire order, parameters), and
    the label of the input it came from."""

    label: str


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")`` (the value without surrounding blanks)."""
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or name != name.strip():
        raise UsageError(
            f"--header {text!r} is not of the form 'Name: value'.",
            hint="for example --header 'X-Request-Source: cli'",
        )
    return name, value.strip()


def mime_type(content_type: str) -> str:
    """The media type TorchServe keeps: everything before the first ``;`` (not trimmed)."""
    return content_type.split(";", 1)[0]


def curl_file_type(path: Path | None) -> str:
    """The part content type ``curl -F name=@file`` sends for *path*."""
    suffix = path.suffix.lower() if path is not None else ""
    return _CURL_TYPES.get(suffix, "application/octet-stream")


def build_requests(
    specs: Sequence[InputSpec],
    *,
    content_type: str | None,
    headers: Sequence[tuple[str, str]],
    explain: bool,
    read_stdin: Callable[[], bytes],
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> list[Request]:
    """One :class:`Request` per spec (see the module docstring).

    Raises :class:`UsageError` for a missing or unreadable file, or stdin used twice.
    """
    if sum(spec.reads_stdin for spec in specs) > 1:
        raise UsageError("only one --input can read standard input ('-').")
    header_type = None
    for name, value in headers:
        if name.lower() == "content-type":
            header_type = value
    body_type = content_type if content_type is not None else header_type
    request_headers = list(headers)
    if content_type is not None:
        request_headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        request_headers.insert(0, ("Content-Type", content_type))
    requests = []
    for spec in specs:
        data = _read(spec, read_stdin)
        parameters: tuple[Parameter, ...]
        if spec.field is not None:
            part_type = content_type if content_type is not None else curl_file_type(spec.path)
            parameters = (Parameter(spec.field, part_type, data),)
            pairs = [(k, v) for k, v in request_headers if k.lower() != "content-type"]
        else:
            parameters = _body_parameters(data, body_type)
            pairs = request_headers
        extra: list[tuple[str, str]] = [("url_path", ""), ("explain", "False")]
        if explain:
            extra.append(("explain", "True"))
        requests.append(
            Request(
                request_id=new_id(),
                label=spec.label,
                headers=tuple(java_hashmap_order([*pairs, *extra])),
                parameters=parameters,
            )
        )
    return requests


def _body_parameters(data: bytes, body_type: str | None) -> tuple[Parameter, ...]:
    media = mime_type(body_type) if body_type else ""
    if media.lower() == FORM_URLENCODED:
        fields = parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True)
        return tuple(Parameter(name, "", value.encode("utf-8")) for name, value in fields)
    if media.lower().startswith("multipart/form-data"):
        raise UsageError(
            "a multipart body cannot be given as raw data.",
            hint="pass each form field as --input NAME=@FILE instead.",
        )
    return (Parameter("body", media, data),)


def _read(spec: InputSpec, read_stdin: Callable[[], bytes]) -> bytes:
    if spec.text is not None:
        return spec.text.encode("utf-8")
    if spec.path is None:
        return read_stdin()
    try:
        return spec.path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"--input {spec.label}: no such file.") from None
    except IsADirectoryError:
        raise UsageError(f"--input {spec.label}: is a directory, not a file.") from None
    except OSError as exc:
        raise UsageError(f"--input {spec.label}: cannot read ({exc.strerror}).") from None
