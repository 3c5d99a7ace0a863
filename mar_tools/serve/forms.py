"""Request bodies turned into the parameters a handler sees, as TorchServe's frontend does.

* ``multipart/form-data``: one parameter per part, named by the part's ``name``. A file part
  (one with a ``filename``) carries its ``Content-Type`` (``application/octet-stream`` when
  it has none, as Netty defaults it); a plain field carries no content type.
* ``application/x-www-form-urlencoded``: one parameter per field, no content type.
* anything else: one parameter ``body`` whose content type is the request's media type
  (everything before the first ``;``; empty without a ``Content-Type``).

A malformed multipart body raises :class:`FormError` (the server answers 400).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from mar_tools.worker.messages import Parameter

FORM_URLENCODED = "application/x-www-form-urlencoded"
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_DISPOSITION_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')
#: Most parts one request may have (a bound on work for hostile bodies).
MAX_PARTS = 1000


class FormError(ValueError):
    """The body does not match its multipart content type."""


def mime_type(content_type: str | None) -> str:
    """The media type the frontend keeps: everything before the first ``;``."""
    return (content_type or "").split(";", 1)[0]


def body_parameters(content_type: str | None, body: bytes) -> tuple[Parameter, ...]:
    """The parameters of a request with *content_type* and *body* (module docstring)."""
    media = mime_type(content_type)
    lowered = media.strip().lower()
    if lowered == "multipart/form-data":
        return _multipart(content_type or "", body)
    if lowered == FORM_URLENCODED:
        fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return tuple(Parameter(name, "", value.encode("utf-8")) for name, value in fields)
    return (Parameter("body", media, body),)


def _multipart(content_type: str, body: bytes) -> tuple[Parameter, ...]:
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise FormError("the multipart content type has no boundary")
    delimiter = b"--" + (match.group(1) or match.group(2)).encode("latin-1")
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise FormError("the body does not end with the closing boundary")
    if len(pieces) - 2 > MAX_PARTS:
        raise FormError(f"more than {MAX_PARTS} parts")
    parameters = []
    for piece in pieces[1:-1]:
        if not piece.startswith(b"\r\n") or not piece.endswith(b"\r\n"):
            raise FormError("a part is not delimited by CRLF")
        head, sep, content = piece[2:-2].partition(b"\r\n\r\n")
        if not sep:
            if piece[2:-2].startswith(b"\r\n"):  # no headers at all
                head, content = b"", piece[4:-2]
            else:
                raise FormError("a part has no blank line after its headers")
        headers = _part_headers(head)
        disposition = headers.get("content-disposition")
        if disposition is None:
            raise FormError("a part has no Content-Disposition")
        params = _disposition(disposition)
        if "name" not in params:
            raise FormError("a part has no name")
        if "filename" in params:
            part_type = headers.get("content-type", "application/octet-stream")
        else:
            part_type = ""
        parameters.append(Parameter(params["name"], part_type, content))
    return tuple(parameters)


def _part_headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n"):
        if not line:
            continue
        name, sep, value = line.decode("utf-8", "replace").partition(":")
        if not sep:
            raise FormError("a part header has no colon")
        headers[name.strip().lower()] = value.strip()
    return headers


def _disposition(value: str) -> dict[str, str]:
    kind, _, rest = value.partition(";")
    if kind.strip().lower() != "form-data":
        raise FormError(f"a part's disposition is {kind.strip()!r}, not form-data")
    params = {}
    for match in _DISPOSITION_PARAM.finditer(";" + rest):
        quoted, plain = match.group(2), match.group(3)
        params[match.group(1).lower()] = quoted if quoted is not None else plain.strip()
    return params
