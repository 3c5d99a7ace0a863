"""A worker's ``response`` message, turned into each request's answer.

A batch whose final frame has a code other than 200 fails every request of the batch with
that code and message (the frontend's ``InternalServerException``). Otherwise each request
gets the parts the handler sent for it: streamed frames first (``send_intermediate_predict_
response``), then the final frame's entry; status, phrase, content type and headers of a
part are the handler's.
"""

from __future__ import annotations

from mar_tools.serve.errors import ApiError, internal
from mar_tools.serve.jobs import Reply, ReplyPart
from mar_tools.worker.messages import BatchResponse, FrameEntry


def replies_from_message(answer: BatchResponse) -> dict[str, Reply | ApiError]:
    """``{request id: its answer}`` for one worker answer."""
    final = answer.final
    answers: dict[str, Reply | ApiError] = {}
    if final.code != 200:
        for entry in final.entries:
            answers[entry.request_id] = internal(final.code, final.message)
        return answers
    parts: dict[str, list[ReplyPart]] = {}
    for frame in answer.frames:
        for entry in frame.entries:
            parts.setdefault(entry.request_id, []).append(_part(entry))
    for request_id, found in parts.items():
        answers[request_id] = Reply(tuple(found))
    return answers


def part_of(entry: FrameEntry) -> ReplyPart:
    """One frame entry as a reply part."""
    return _part(entry)


def _part(entry: FrameEntry) -> ReplyPart:
    return ReplyPart(
        status=entry.status,
        phrase=entry.phrase or "",
        content_type=entry.content_type or None,
        headers=dict(entry.headers),
        body=entry.body,
    )
