"""Errors of the archiver. One root, :class:`ModelArchiverError`, named as upstream's."""

from __future__ import annotations

from enum import IntEnum

from mar_tools.errors import MarToolsError


class ArchiverExit(IntEnum):
    """Exit codes of ``torch-model-archiver`` (documented in the README; stable).

    Upstream exits 2 for usage errors and 1 for everything else; we keep those two
    meanings and add distinct codes only for failures upstream never reported cleanly.
    """

    OK = 0
    #: bad input: a missing or unreadable file, an invalid model name, a collision,
    #: an existing output without ``-f``.
    INPUT = 1
    #: a wrong or missing flag.
    USAGE = 2
    #: the output could not be written (disk full, permissions); nothing was replaced.
    WRITE = 3
    INTERRUPTED = 130


class ModelArchiverError(MarToolsError):
    """Root of the archiver's deliberate errors (bad input by default)."""

    exit_code = ArchiverExit.INPUT


class OutputWriteError(ModelArchiverError):
    """The archive could not be written; any existing output is untouched."""

    exit_code = ArchiverExit.WRITE
