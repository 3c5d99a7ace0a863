"""What an installer is (create a virtualenv, install requirements into it), how one is
chosen, and how its commands run.

Two implementations: :mod:`.pip_installer` (the ``virtualenv`` library + pip, TorchServe's
behaviour) and :mod:`.uv_installer` (``uv venv`` + ``uv pip``, faster).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mar_tools.environment.host import Host
from mar_tools.environment.layout import VenvLayout
from mar_tools.environment.options import EnvOptions

#: Variables that would send pip's installs somewhere other than the environment.
_REDIRECTING = ("PIP_TARGET", "PIP_PREFIX", "PIP_USER", "PIP_ROOT", "UV_SYSTEM_PYTHON")


@dataclass(frozen=True)
class InstallRequest:
    """One install: *requirements* (relative to *cwd*, the model directory) into *layout*.

    ``constraints`` pins torch for pip; ``excludes`` keeps uv from resolving torch at all
    (uv does not see inherited packages, so it would otherwise download one).
    """

    layout: VenvLayout
    requirements: str
    cwd: Path
    options: EnvOptions
    constraints: Path | None = None
    excludes: Path | None = None


@dataclass(frozen=True)
class CommandResult:
    """A finished command: its arguments, exit status and combined output."""

    argv: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Installer(Protocol):
    """Creates environments and installs requirements into them."""

    name: str
    description: str

    def create(self, root: Path, host: Host) -> VenvLayout:
        """Create an empty virtualenv at *root* from *host*'s base interpreter."""

    def install(self, request: InstallRequest) -> CommandResult:
        """Install the requirements; a non-zero ``returncode`` means it failed."""

    def checks_torch(self) -> bool:
        """True when the installer itself refuses a requirement that conflicts with the
        inherited torch (pip, through the constraint); False when it must be checked after."""


def run_command(argv: Sequence[str], cwd: Path, extra_env: Mapping[str, str] = {}) -> CommandResult:
    """Run *argv* in *cwd*, no input, stdout and stderr combined, never raising on failure."""
    env = {k: v for k, v in os.environ.items() if k not in _REDIRECTING}
    env.update(extra_env)
    try:
        done = subprocess.run(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
    except OSError as exc:
        return CommandResult(tuple(argv), 127, f"error: cannot run {argv[0]}: {exc}\n")
    return CommandResult(tuple(argv), done.returncode, done.stdout.decode(errors="replace"))
