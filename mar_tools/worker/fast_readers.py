"""Quick readers of the parts of the per-batch messages (requests, frames, failures, lists of
strings): one pass over the decoded JSON with exact type checks, building the values at once.

They exist for speed: ``mar serve`` reads two messages per batch, and the checked readers of
:mod:`.fields` (which build a :class:`~.fields.Fields` view and a check per field) cost as
much as the rest of the message's trip. Each reader raises :class:`Reread` (or lets a
``KeyError``, ``TypeError`` or ``IndexError`` of the lookup escape: :data:`REREAD` names them
all) when anything is not as a well-formed message has it; the message is then read again
with the checked readers, which accept the same messages and name what is wrong. So a
well-formed message gives the same value either way, and a malformed one the same error.
Standard library only, like the rest of the worker package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .encoding import Frame, FrameEntry
from .failure import Failure
from .inputs import Parameter, Request


class Reread(Exception):
    """The quick reader met something a well-formed message does not hold."""


#: What a quick reader may raise: the message must be read by the checked readers.
REREAD = (Reread, KeyError, TypeError, IndexError)


def texts(value: Any) -> tuple[str, ...]:
    """A list of strings, as a tuple."""
    if type(value) is not list:
        raise Reread
    for item in value:
        if type(item) is not str:
            raise Reread
    return tuple(value)


def integer(value: Any) -> int:
    if type(value) is not int:
        raise Reread
    return value


def number(value: Any) -> float:
    if type(value) is not float and type(value) is not int:
        raise Reread
    return float(value)


def optional_failure(value: Any) -> Failure | None:
    """None, or the :class:`Failure` a JSON object describes."""
    if value is None:
        return None
    error_type, message, trace = value["error_type"], value["message"], value["traceback"]
    if type(error_type) is not str or type(message) is not str or type(trace) is not str:
        raise Reread
    return Failure(error_type, message, trace)


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if type(value) is not list:
        raise Reread
    pairs = []
    for pair in value:
        if type(pair) is not list or len(pair) != 2:
            raise Reread
        first, second = pair
        if type(first) is not str or type(second) is not str:
            raise Reread
        pairs.append((first, second))
    return tuple(pairs)


def requests(value: Any, blobs: Sequence[bytes]) -> tuple[Request, ...]:
    """The requests of a ``predict`` message, their parameter values taken from *blobs*
    (which they must use up exactly)."""
    if type(value) is not list:
        raise Reread
    found = []
    taken = 0
    for item in value:
        if type(item) is not dict:
            raise Reread
        request_id = item["id"]
        if type(request_id) is not str:
            raise Reread
        headers = _pairs(item["headers"])
        parameters = []
        for name, content_type in _pairs(item["parameters"]):
            parameters.append(Parameter(name, content_type, blobs[taken]))
            taken += 1
        found.append(Request(request_id, headers, tuple(parameters)))
    if taken != len(blobs):
        raise Reread
    return tuple(found)


def _text_map(value: Any) -> dict[str, str]:
    if type(value) is not dict:
        raise Reread
    for item in value.values():
        if type(item) is not str:
            raise Reread
    return dict(value)


def frames(value: Any, blobs: Sequence[bytes]) -> tuple[Frame, ...]:
    """The frames of a ``response`` or ``streamed`` message, the entries' bodies taken from
    *blobs* (which they must use up exactly)."""
    if type(value) is not list:
        raise Reread
    found = []
    taken = 0
    for item in value:
        if type(item) is not dict:
            raise Reread
        code, message, listed = item["code"], item["message"], item["entries"]
        if type(code) is not int or type(message) is not str or type(listed) is not list:
            raise Reread
        entries = []
        for entry in listed:
            if type(entry) is not dict:
                raise Reread
            request_id, status = entry["id"], entry["status"]
            phrase, content_type = entry["phrase"], entry["content_type"]
            if (
                type(request_id) is not str
                or type(status) is not int
                or type(phrase) is not str
                or type(content_type) is not str
            ):
                raise Reread
            headers = _text_map(entry["headers"])
            body = blobs[taken]
            taken += 1
            entries.append(FrameEntry(request_id, status, phrase, content_type, headers, body))
        found.append(Frame(code, message, tuple(entries)))
    if taken != len(blobs):
        raise Reread
    return tuple(found)
