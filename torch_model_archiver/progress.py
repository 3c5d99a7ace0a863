"""How a build tells its caller what it is doing, without printing anything itself.

The library calls a :class:`Reporter`; the command line passes one that draws a rich
progress bar and prints warnings, the Python API passes :class:`SilentReporter` unless the
caller gives its own (``warnings`` lists what would have been printed).
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Receives a build's warnings and progress. Calls come from the building thread."""

    def warning(self, message: str, /) -> None:
        """Something the user should know that does not stop the build."""

    def start(self, total_bytes: int, entries: int, /) -> None:
        """Writing begins: *entries* entries (the manifest included) holding *total_bytes*
        bytes will be written; :meth:`advance` calls add up to *total_bytes*."""

    def advance(self, nbytes: int, /) -> None:
        """*nbytes* more input bytes are in the archive."""

    def finish(self) -> None:
        """Writing ended (successfully or not)."""


class SilentReporter:
    """A reporter that keeps warnings in a list and ignores progress."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def start(self, total_bytes: int, entries: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def finish(self) -> None:
        pass
