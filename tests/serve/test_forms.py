"""Request bodies to handler parameters, as TorchServe's frontend builds them."""

from __future__ import annotations

import pytest

from mar_tools.serve.forms import FormError, body_parameters
from mar_tools.worker.messages import Parameter

BOUNDARY = "b0undary"
TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def _form(*parts: bytes) -> bytes:
    return b"".join(b"--" + BOUNDARY.encode() + b"\r\n" + p + b"\r\n" for p in parts) + (
        b"--" + BOUNDARY.encode() + b"--\r\n"
    )


def test_raw_body_keeps_the_media_type() -> None:
    assert body_parameters("application/json; charset=utf-8", b"{}") == (
        Parameter("body", "application/json", b"{}"),
    )
    assert body_parameters(None, b"x") == (Parameter("body", "", b"x"),)


def test_urlencoded_fields() -> None:
    assert body_parameters("application/x-www-form-urlencoded", b"a=1&b=two+words&a=3") == (
        Parameter("a", "", b"1"),
        Parameter("b", "", b"two words"),
        Parameter("a", "", b"3"),
    )


def test_multipart_files_and_fields() -> None:
    body = _form(
        b'Content-Disposition: form-data; name="data"; filename="x.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x00\x01\r\n",
        b'Content-Disposition: form-data; name="plain"\r\n\r\nvalue',
        b'Content-Disposition: form-data; name="file"; filename="y"\r\n\r\nraw',
    )
    assert body_parameters(TYPE, body) == (
        Parameter("data", "image/png", b"\x00\x01\r\n"),
        Parameter("plain", "", b"value"),
        Parameter("file", "application/octet-stream", b"raw"),
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\n"),
        (TYPE, b"--b0undary\r\nno end"),
        (TYPE, _form(b"Content-Type: text/plain\r\n\r\nno disposition")),
        (TYPE, _form(b"Content-Disposition: attachment\r\n\r\nx")),
        (TYPE, _form(b"Content-Disposition: form-data; filename=x\r\n\r\nno name")),
    ],
)
def test_malformed_multipart(content_type: str, body: bytes) -> None:
    with pytest.raises(FormError):
        body_parameters(content_type, body)
