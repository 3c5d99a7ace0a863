"""What a client of TorchServe receives for each request, built from the worker's frames
(the :class:`~mar_tools.worker.messages.Frame` objects of a ``BatchResponse``).

* A batch that failed (code other than 200) answers every request with that HTTP status
  (413 becomes 507, as the frontend maps it) and the frontend's JSON error body::

      {
        "code": 503,
        "type": "InternalServerException",
        "message": "Prediction failed"
      }

  (Gson pretty printing, no HTML escaping, a trailing newline, ``application/json``).
* A successful batch answers each request with the status, reason phrase, content type and
  headers the handler set, and the encoded body. A streamed response's head comes from its
  first frame and its body is every frame's body in order (HTTP chunked transfer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mar_tools.core.gson import gson_pretty
from mar_tools.worker.messages import Frame, FrameEntry

ERROR_TYPE = "InternalServerException"


@dataclass(frozen=True)
class Response:
    """One request's HTTP answer, as TorchServe would send it."""

    request_id: str
    label: str
    batch: int
    status: int
    phrase: str
    content_type: str | None
    headers: Mapping[str, str]
    body: bytes
    chunks: int = 1
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        """True unless the status is 400 or above."""
        return self.status < 400


def error_body(code: int, message: str) -> bytes:
    """The frontend's error body for *code* and *message* (see the module docstring)."""
    return gson_pretty({"code": code, "type": ERROR_TYPE, "message": message})


def http_responses(
    frames: Sequence[Frame], labels: Mapping[str, str], batch: int
) -> list[Response]:
    """One :class:`Response` per request of the batch whose frames are *frames*."""
    final = frames[-1]
    streamed = frames[:-1]
    responses = []
    for entry in final.entries:
        request_id = entry.request_id
        label = labels.get(request_id, request_id)
        if final.code != 200:
            status = 507 if final.code == 413 else final.code
            responses.append(
                Response(
                    request_id,
                    label,
                    batch,
                    status,
                    "",
                    "application/json",
                    {},
                    error_body(status, final.message),
                    error_message=final.message,
                )
            )
            continue
        parts = [_part(frame, request_id) for frame in streamed]
        present = [part for part in parts if part is not None]
        head = present[0] if present else entry
        body = b"".join(part.body for part in present) + entry.body
        responses.append(
            Response(
                request_id,
                label,
                batch,
                head.status,
                head.phrase,
                head.content_type or None,
                dict(head.headers),
                body,
                chunks=len(present) + 1,
            )
        )
    return responses


def _part(frame: Frame, request_id: str) -> FrameEntry | None:
    for entry in frame.entries:
        if entry.request_id == request_id:
            return entry
    return None
