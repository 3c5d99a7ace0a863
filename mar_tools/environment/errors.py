"""The one error the environment package raises on purpose."""

from __future__ import annotations

from mar_tools.errors import ExitCode, MarToolsError


class EnvironmentSetupError(MarToolsError):
    """A per-model environment could not be created (exit code 5).

    ``message`` names what failed (the requirement when it can be found) and ends with the
    tail of the installer's output; ``hint`` says what to try next.
    """

    exit_code = ExitCode.ENVIRONMENT
