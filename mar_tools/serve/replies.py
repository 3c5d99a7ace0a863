"""A worker's ``response`` message, turned into each request's answer.

A batch whose final frame has a code other than 200 fails every request of the batch with
that code and message (the frontend's ``InternalServerException``). Otherwise each request
gets the parts the handler sent for it: streamed frames first (``send_intermediate_predict_
response``), then the final frame's entry; status, phrase, content type and headers of a
part are the handler's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mar_tools.run.response import Frame, frames_from_message
from mar_tools.serve.errors import ApiError, internal
from mar_tools.serve.jobs import Reply, ReplyPart


def replies_from_message(
    header: Mapping[str, Any], blobs: Sequence[bytes]
) -> dict[str, Reply | ApiError]:
    """``{request id: its answer}`` for one ``response`` message."""
    frames = frames_from_message(header, blobs)
    final = frames[-1]
    answers: dict[str, Reply | ApiError] = {}
    if final.code != 200:
        for entry in final.entries:
            answers[str(entry["id"])] = internal(final.code, final.message)
        return answers
    parts: dict[str, list[ReplyPart]] = {}
    for frame in frames:
        for entry, body in zip(frame.entries, frame.bodies, strict=False):
            parts.setdefault(str(entry["id"]), []).append(_part(entry, body))
    for request_id, found in parts.items():
        answers[request_id] = Reply(tuple(found))
    return answers


def _part(entry: Mapping[str, Any], body: bytes) -> ReplyPart:
    return ReplyPart(
        status=int(entry["status"]),
        phrase=str(entry["phrase"] or ""),
        content_type=entry["content_type"] or None,
        headers=dict(entry["headers"]),
        body=body,
    )


__all__ = ["Frame", "replies_from_message"]
