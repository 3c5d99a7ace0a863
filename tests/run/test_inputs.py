"""--input / --data / --content-type / --header become the requests TorchServe would build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mar_tools.core.errors import UsageError
from mar_tools.run.headers import java_hashmap_order
from mar_tools.run.inputs import (
    InputSpec,
    Parameter,
    Request,
    build_requests,
    curl_file_type,
    parse_header,
)


def _ids() -> Iterator[str]:
    number = 0
    while True:
        number += 1
        yield f"id-{number}"


def _build(specs: list[InputSpec], **options: object) -> list[Request]:
    ids = _ids()
    defaults: dict[str, object] = {
        "content_type": None,
        "headers": (),
        "explain": False,
        "read_stdin": lambda: b"from stdin",
    }
    defaults.update(options)
    return build_requests(specs, new_id=lambda: next(ids), **defaults)  # type: ignore[arg-type]


def test_parse_input_forms() -> None:
    assert InputSpec.parse_input("cat.jpg") == InputSpec("cat.jpg", path=Path("cat.jpg"))
    assert InputSpec.parse_input("-") == InputSpec("-")
    assert InputSpec.parse_input("data=@cat.jpg") == InputSpec(
        "data=@cat.jpg", field="data", path=Path("cat.jpg")
    )
    assert InputSpec.parse_input("data=@-") == InputSpec("data=@-", field="data")
    # Not a NAME=@FILE form: a plain path that happens to contain '='.
    assert InputSpec.parse_input("a b=@c").path == Path("a b=@c")


def test_raw_body_without_content_type(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\x00\x01")
    [request] = _build([InputSpec.parse_input(str(tmp_path / "x.bin"))])
    assert request.parameters == (Parameter("body", "", b"\x00\x01"),)
    assert request.headers == tuple(java_hashmap_order([("url_path", ""), ("explain", "False")]))
    assert request.request_id == "id-1"


def test_content_type_applies_to_the_body_and_becomes_a_header() -> None:
    [request] = _build(
        [InputSpec.from_data('{"a": 1}', 1)],
        content_type="application/json; charset=utf-8",
        headers=(("X-Token", "t"),),
        explain=True,
    )
    # TorchServe keeps the media type up to ';', untrimmed, for the parameter.
    assert request.parameters == (Parameter("body", "application/json", b'{"a": 1}'),)
    assert dict(request.headers) == {
        "Content-Type": "application/json; charset=utf-8",
        "X-Token": "t",
        "url_path": "",
        "explain": "True",
    }


def test_a_content_type_header_sets_the_body_type_like_curl() -> None:
    [request] = _build([InputSpec.from_data("hi", 1)], headers=(("content-type", "text/plain"),))
    assert request.parameters == (Parameter("body", "text/plain", b"hi"),)
    assert ("content-type", "text/plain") in request.headers


def test_form_fields_get_curls_guessed_types(tmp_path: Path) -> None:
    for name in ("a.txt", "b.PNG", "c.json", "d"):
        (tmp_path / name).write_bytes(name.encode())
    specs = [
        InputSpec.parse_input(f"f{n}=@{tmp_path / n}") for n in ("a.txt", "b.PNG", "c.json", "d")
    ]
    requests = _build(specs, headers=(("Content-Type", "ignored/for-forms"),))
    assert [r.parameters[0].content_type for r in requests] == [
        "text/plain",
        "image/png",
        "application/octet-stream",
        "application/octet-stream",
    ]
    assert [r.parameters[0].name for r in requests] == ["fa.txt", "fb.PNG", "fc.json", "fd"]
    assert all("Content-Type" not in dict(r.headers) for r in requests)
    assert curl_file_type(Path("x.JPEG")) == "image/jpeg"


def test_urlencoded_body_becomes_form_fields() -> None:
    [request] = _build(
        [InputSpec.from_data("a=1&b=x+y%21&empty=", 1)],
        content_type="application/x-www-form-urlencoded",
    )
    assert request.parameters == (
        Parameter("a", "", b"1"),
        Parameter("b", "", b"x y!"),
        Parameter("empty", "", b""),
    )


def test_stdin_is_read_for_dash(tmp_path: Path) -> None:
    [request] = _build([InputSpec.parse_input("-")])
    assert request.parameters[0].value == b"from stdin"


def test_stdin_twice_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"only one --input can read standard input"):
        _build([InputSpec.parse_input("-"), InputSpec.parse_input("data=@-")])


def test_missing_and_directory_inputs(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^--input nope\.jpg: no such file\.$"):
        _build([InputSpec.parse_input("nope.jpg")])
    with pytest.raises(UsageError, match=r"is a directory, not a file\.$"):
        _build([InputSpec.parse_input(str(tmp_path))])


def test_multipart_raw_data_is_refused() -> None:
    with pytest.raises(UsageError, match="multipart body cannot be given as raw data"):
        _build([InputSpec.from_data("x", 1)], content_type="multipart/form-data; boundary=x")


@pytest.mark.parametrize("text", ["NoColon", ": value", " Name: v", ""])
def test_bad_headers(text: str) -> None:
    with pytest.raises(UsageError, match="is not of the form 'Name: value'"):
        parse_header(text)


def test_header_value_is_stripped_and_may_contain_colons() -> None:
    assert parse_header("X-Url:  http://a:8080/x ") == ("X-Url", "http://a:8080/x")
