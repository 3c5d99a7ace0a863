"""What is wrong with an archive, in the words of a ``mar validate`` finding."""

from __future__ import annotations

from mar_tools.core.record import record


@record
class Problem:
    """One problem: its ``mar validate`` code, a message, the member it concerns (if one).

    ``fatal`` problems make extraction refuse the archive, and are errors in ``mar
    validate`` (a test keeps the two in step); the others are warnings there and are
    ignored by extraction.
    """

    code: str
    message: str
    member: str | None = None
    fatal: bool = True
