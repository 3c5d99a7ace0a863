"""What one request got back, from TorchServe or from ``mar run``, and how two are compared.

Status, content type and body must be equal. Bodies are compared byte for byte; only when
they differ and both are JSON with floating-point numbers in them are they compared again,
structurally, with a relative tolerance on the floats (two processes may sum in a different
order). Key order still counts: it is part of the bytes TorchServe sends.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.http_client import HttpResponse

#: Headers TorchServe's frontend adds to every response; everything else came from the handler.
FRONTEND_HEADERS = frozenset(
    {"x-request-id", "pragma", "cache-control", "expires", "content-length", "connection"}
)
REL_TOLERANCE = 1e-5
ABS_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Answer:
    """Status, content type (None when absent), handler-set headers and body of a response."""

    status: int
    body: bytes
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_http(cls, response: HttpResponse) -> Answer:
        """The parts of an HTTP response that the handler and the backend decide."""
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in FRONTEND_HEADERS and name != "content-type"
        }
        return cls(response.status, response.body, response.content_type, headers)


def assert_same_answer(actual: Answer, expected: Answer, *, what: str = "") -> None:
    """Assert *actual* answers like *expected* (see the module docstring for the rules)."""
    context = f"{what}\nexpected: {expected}\nactual:   {actual}"
    assert actual.status == expected.status, f"status differs: {context}"
    assert actual.content_type == expected.content_type, f"content type differs: {context}"
    assert dict(actual.headers) == dict(expected.headers), f"headers differ: {context}"
    if actual.body == expected.body:
        return
    left, right = _json_or_none(actual.body), _json_or_none(expected.body)
    assert left is not None and right is not None, f"body differs: {context}"
    assert _has_float(right), f"JSON body differs (no floats to excuse it): {context}"
    assert _close(left, right), f"JSON body differs beyond float tolerance: {context}"


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body, object_pairs_hook=list)
    except ValueError:
        return None


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(_has_float(item) for item in value)
    if isinstance(value, tuple):  # an object's (key, value) pair
        return _has_float(value[1])
    return False


def _close(left: Any, right: Any) -> bool:
    """Equal structure and order; floats within tolerance. Objects parse as pair lists."""
    if isinstance(left, float) or isinstance(right, float):
        if isinstance(left, bool) or isinstance(right, bool):
            return False
        if not isinstance(left, (int, float)) or not isinstance(right, (int, float)):
            return False
        return math.isclose(left, right, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            _close(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, tuple) and isinstance(right, tuple):
        return left[0] == right[0] and _close(left[1], right[1])
    return bool(type(left) is type(right) and left == right)
