"""Tracebacks as the user needs them: the handler's own frames, without the worker's.

When a handler fails, ``mar run`` shows the traceback of the handler's code (and of the
``ts`` modules it calls). Frames of this worker package and of ``importlib``'s bootstrap are
dropped: they are how the handler was reached, not why it failed.
"""

# Why: os.path: the worker starts before anything else is imported.
# ruff: noqa: PTH100, PTH120

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .fields import Fields

if TYPE_CHECKING:
    import traceback

_WORKER_DIR = os.path.dirname(os.path.abspath(__file__))
_IMPORTLIB_FRAMES = (
    "<frozen importlib._bootstrap>",
    "<frozen importlib._bootstrap_external>",
    os.path.abspath(importlib.__file__ or ""),  # import_module()
)


@dataclass(frozen=True)
class Failure:
    """An exception reduced to what the parent prints: type, message and trimmed traceback."""

    error_type: str
    message: str
    traceback: str

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        """Describe *exc*, keeping only frames outside the worker and importlib."""
        import traceback  # only failures need it

        described = traceback.TracebackException.from_exception(exc)
        _trim(described)
        return cls(
            error_type=type(exc).__name__,
            message=str(exc),
            traceback="".join(described.format()),
        )

    def describe(self) -> str:
        """``Type: message``, or ``Type`` alone for an empty message (as the last line of a
        traceback shows the exception)."""
        return f"{self.error_type}: {self.message}" if self.message else self.error_type

    def to_json(self) -> dict[str, str]:
        """The failure as a JSON object of a message header."""
        return {"error_type": self.error_type, "message": self.message, "traceback": self.traceback}

    @classmethod
    def from_json(cls, fields: Fields) -> Failure:
        """The failure :meth:`to_json` wrote."""
        return cls(fields.text("error_type"), fields.text("message"), fields.text("traceback"))


def _is_ours(filename: str) -> bool:
    if filename in _IMPORTLIB_FRAMES or os.path.abspath(filename) in _IMPORTLIB_FRAMES:
        return True
    return os.path.dirname(os.path.abspath(filename)) == _WORKER_DIR


def _trim(described: traceback.TracebackException) -> None:
    import traceback

    seen: set[int] = set()
    pending = [described]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        kept = [frame for frame in current.stack if not _is_ours(frame.filename)]
        current.stack = traceback.StackSummary.from_list(kept)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
