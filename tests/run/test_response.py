"""The HTTP answers TorchServe's frontend builds from the backend's frames."""

from __future__ import annotations

from collections.abc import Mapping

from mar_tools.run.response import error_body, http_responses
from mar_tools.worker.messages import Frame, FrameEntry


def _entry(
    request_id: str,
    body: bytes,
    *,
    status: int = 200,
    phrase: str = "",
    content_type: str = "",
    headers: Mapping[str, str] | None = None,
) -> FrameEntry:
    return FrameEntry(request_id, status, phrase, content_type, headers or {}, body)


def test_error_body_is_gson_pretty_with_a_trailing_newline() -> None:
    assert error_body(503, 'Prediction "failed" <&>\n\u2028é') == (
        b'{\n  "code": 503,\n  "type": "InternalServerException",\n'
        b'  "message": "Prediction \\"failed\\" <&>\\n\\u2028\xc3\xa9"\n}\n'
    )


def test_failed_batch_answers_every_request_and_413_becomes_507() -> None:
    frame = Frame(
        413, "too large", (_entry("a", b"error", status=413), _entry("b", b"error", status=413))
    )
    responses = http_responses([frame], {"a": "first"}, batch=4)
    assert [(r.label, r.status, r.content_type, r.body) for r in responses] == [
        ("first", 507, "application/json", error_body(507, "too large")),
        ("b", 507, "application/json", error_body(507, "too large")),
    ]
    assert [r.batch for r in responses] == [4, 4]
    assert not responses[0].ok


def test_success_keeps_status_phrase_type_and_headers() -> None:
    frame = Frame(
        200,
        "Prediction success",
        (
            _entry(
                "a",
                b"body",
                status=404,
                phrase="Nope",
                content_type="text/plain",
                headers={"k": "v"},
            ),
        ),
    )
    [response] = http_responses([frame], {}, batch=0)
    assert (response.status, response.phrase, response.content_type, dict(response.headers)) == (
        404,
        "Nope",
        "text/plain",
        {"k": "v"},
    )
    assert response.body == b"body" and not response.ok


def test_streamed_response_takes_its_head_from_the_first_frame() -> None:
    head = _entry(
        "a", b"one ", content_type="text/event-stream", headers={"ts_stream_next": "true"}
    )
    first = Frame(200, "Intermediate", (head,))
    second = Frame(200, "Intermediate", (_entry("a", b"two "),))
    final = Frame(
        200,
        "Prediction success",
        (_entry("a", b"three", content_type="x/y", headers={"ts_stream_next": "false"}),),
    )
    [response] = http_responses([first, second, final], {}, batch=0)
    assert response.body == b"one two three"
    assert response.chunks == 3
    assert response.content_type == "text/event-stream"
    assert dict(response.headers) == {"ts_stream_next": "true"}
