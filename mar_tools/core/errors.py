"""The root of every error mar-tools raises on purpose, and the exit codes they map to.

Library code raises subclasses of :class:`MarToolsError`; each class carries the exit
code the command line turns it into. Only the CLI boundary (``mar_tools.terminal.boundary``)
maps exceptions to exit codes, so this module is the whole contract of ``mar``. The
archiver's own classes (``torch_model_archiver.errors``) derive from :class:`MarToolsError`
too, with the archiver's exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the ``mar`` command (documented in the README; stable)."""

    OK = 0
    #: validate: the archive has error findings; run: at least one request failed.
    FAILURE = 1
    #: a wrong flag, a missing path argument, or an internal tool error.
    USAGE = 2
    #: the archive cannot be opened, is not a model archive, or is unsafe to extract.
    ARCHIVE = 3
    #: the handler failed to import or initialize (the model did not load).
    LOAD = 4
    #: the per-model environment could not be created.
    ENVIRONMENT = 5
    #: the requested device (``--gpu N`` / ``--device``) is not available.
    DEVICE = 6
    #: the worker process died or timed out without an answer.
    WORKER = 7
    #: interrupted by the user (Ctrl-C).
    INTERRUPTED = 130


class MarToolsError(Exception):
    """Base class of deliberate errors: one clear message, an optional hint, an exit code."""

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


def problems_message(subject: str, problems: Sequence[str]) -> str:
    """``subject: problem`` for one problem; for several, their count and one line each."""
    if len(problems) == 1:
        return f"{subject}: {problems[0]}"
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return f"{subject}: {len(problems)} problems:\n{lines}"


class UsageError(MarToolsError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = ExitCode.USAGE


class ArchiveError(MarToolsError):
    """An archive is missing, unreadable, not a model archive, or unsafe."""

    exit_code = ExitCode.ARCHIVE


class ManifestError(ArchiveError):
    """``MAR-INF/MANIFEST.json`` is missing or is not a JSON object."""


class ModelConfigError(ArchiveError):
    """The model config the manifest names is missing, unreadable, not YAML or not a mapping.

    TorchServe refuses to register such a model (its frontend cannot build the config), so
    every command treats it as a broken archive.
    """


class _WithDetails(MarToolsError):
    """An error that also carries ``details``: a trimmed traceback shown after the message."""

    def __init__(self, message: str, *, hint: str | None = None, details: str = "") -> None:
        super().__init__(message, hint=hint)
        self.details = details


class LoadFailed(_WithDetails):
    """The handler failed to import or initialize; ``details`` is its trimmed traceback."""

    exit_code = ExitCode.LOAD


class DeviceUnavailable(MarToolsError):
    """``--gpu``/``--device`` asked for a device this machine does not have."""

    exit_code = ExitCode.DEVICE


class WorkerDied(_WithDetails):
    """The worker process ended without answering (crash, signal, ``sys.exit`` in a handler)."""

    exit_code = ExitCode.WORKER


class EnvironmentSetupError(MarToolsError):
    """A per-model environment could not be created (exit code 5).

    ``message`` names what failed (the requirement when it can be found) and ends with the
    tail of the installer's output; ``hint`` says what to try next.
    """

    exit_code = ExitCode.ENVIRONMENT
