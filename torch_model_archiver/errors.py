"""Errors of the archiver. One root, :class:`ModelArchiverError`, named as upstream's.

Every class carries the exit code ``torch-model-archiver`` turns it into (the boundary in
``mar_tools.terminal.boundary`` does the mapping), so this module is the whole exit-code contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from mar_tools.core.errors import MarToolsError, problems_message


class ArchiverExit(IntEnum):
    """Exit codes of ``torch-model-archiver`` (documented in docs/archiver.md; stable).

    Upstream exits 2 for usage errors and 1 for everything else; we keep those two
    meanings and add a distinct code only for failures upstream never reported cleanly.
    """

    OK = 0
    #: bad input: a missing or unreadable file, an invalid model name, a collision,
    #: an existing output without ``-f``, an input that changed while it was archived.
    INPUT = 1
    #: a wrong or missing flag (and, as for ``mar``, an unexpected internal error).
    USAGE = 2
    #: the output could not be written (disk full, permissions); nothing was replaced.
    WRITE = 3
    INTERRUPTED = 130


class ModelArchiverError(MarToolsError):
    """Root of the archiver's deliberate errors (bad input by default)."""

    exit_code = ArchiverExit.INPUT


class InputError(ModelArchiverError):
    """One or more inputs are unusable. ``problems`` lists every one, in the order found."""

    def __init__(self, subject: str, problems: Sequence[str], *, hint: str | None = None) -> None:
        self.problems = tuple(problems)
        super().__init__(problems_message(subject, self.problems), hint=hint)


class MissingInputError(InputError, FileNotFoundError):
    """Every problem is a missing file; also a ``FileNotFoundError``, as upstream raised."""


class OutputExistsError(ModelArchiverError):
    """The output already exists and ``force`` was not given; nothing was written."""


class OutputWriteError(ModelArchiverError):
    """The archive could not be written; any existing output is untouched."""

    exit_code = ArchiverExit.WRITE


class SourceChangedError(ModelArchiverError):
    """An input file changed size while it was being archived; nothing was published."""
