"""Installers: what one is (create a virtualenv, install requirements into it), how its
commands run, and the two implementations.

* :class:`PipInstaller`: a virtualenv made with the ``virtualenv`` library, and pip. This
  is what TorchServe's ``useVenv`` does (a venv inheriting the launching packages, then
  ``pip install -r`` from the model directory), minus ``-U``: a requirement that an
  inherited package already satisfies is left to the inherited package, which keeps runs
  offline-able and torch untouched. pip itself comes from the inherited packages when they
  have it, so the new environment holds only what the requirements add.
* :class:`UvInstaller`: ``uv venv`` and ``uv pip install``, faster. uv does not see
  packages inherited through a ``.pth`` file (it reads only the environment's own
  site-packages), so it would resolve torch from the index. It is told to exclude torch
  instead (``--excludes``), and the builder checks afterwards that nothing it installed
  asks for another torch. Other inherited packages are not visible to uv either: a
  requirement's dependencies are installed into the environment even when the launching
  environment has them, so uv may need an index where pip would not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mar_tools.core.errors import EnvironmentSetupError
from mar_tools.env.host import Host
from mar_tools.env.options import EnvOptions
from mar_tools.env.venv_files import VenvLayout

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


PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PYTHONUNBUFFERED": "1"}


class PipInstaller:
    """``virtualenv`` + ``python -m pip``."""

    name = "pip"
    description = "virtualenv + pip"

    def create(self, root: Path, host: Host) -> VenvLayout:
        """Create the virtualenv with the library (not ``python -m venv``), as pypa/build does."""
        import virtualenv  # imported here: it is slow to import and only needed to build

        args = [
            str(root),
            "--python",
            str(host.base_python),
            "--no-setuptools",
            "--no-periodic-update",
            "--no-download",
            "--activators",
            "",
        ]
        if host.has_pip:
            args.append("--no-seed")
        try:
            session = virtualenv.cli_run(args, setup_logging=False)
        except (Exception, SystemExit) as exc:
            raise EnvironmentSetupError(
                f"virtualenv could not create an environment at {root}: {exc}",
                hint=f"check that {host.base_python} works and that the cache is writable",
            ) from exc
        creator = session.creator
        return VenvLayout(
            root=Path(creator.dest),
            python=Path(creator.exe),
            site_packages=Path(creator.purelib),
            scripts=Path(creator.script_dir),
        )

    def install(self, request: InstallRequest) -> CommandResult:
        argv = [str(request.layout.python), "-m", "pip", "install", "-r", request.requirements]
        if request.constraints is not None:
            argv += ["-c", str(request.constraints)]
        argv += request.options.index_arguments()
        return run_command(argv, request.cwd, PIP_ENV)

    def checks_torch(self) -> bool:
        return True


UV_ENV = {"UV_NO_PROGRESS": "1", "NO_COLOR": "1"}


def find_uv() -> Path | None:
    """The uv executable: the one the ``uv`` Python package ships, else ``uv`` on PATH."""
    try:
        import uv

        return Path(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    return Path(found) if found else None


class UvInstaller:
    """``uv venv`` + ``uv pip install``."""

    name = "uv"
    description = "uv"

    def __init__(self, uv: Path) -> None:
        self.uv = uv

    def create(self, root: Path, host: Host) -> VenvLayout:
        # --no-config: never read a pyproject.toml or uv.toml shipped in the model directory.
        argv = [
            str(self.uv),
            "venv",
            str(root),
            "--python",
            str(host.base_python),
            "--no-config",
            "--no-project",
            "--no-python-downloads",
            "--quiet",
        ]
        result = run_command(argv, root.parent, UV_ENV)
        if not result.ok:
            raise EnvironmentSetupError(
                f"uv could not create an environment at {root}: {result.output.strip()}",
                hint="try --installer pip",
            )
        return VenvLayout.standard(root)

    def install(self, request: InstallRequest) -> CommandResult:
        argv = [
            str(self.uv),
            "pip",
            "install",
            "--python",
            str(request.layout.python),
            "--no-config",
            "-r",
            request.requirements,
        ]
        if request.excludes is not None:
            argv += ["--excludes", str(request.excludes)]
        argv += request.options.index_arguments()
        return run_command(argv, request.cwd, UV_ENV)

    def checks_torch(self) -> bool:
        return False


def select_installers(choice: str) -> Sequence[Installer]:
    """The installers to try in order for ``--installer`` *choice*."""
    if choice == "pip":
        return [PipInstaller()]
    uv = find_uv()
    if choice == "uv":
        if uv is None:
            raise EnvironmentSetupError(
                "--installer uv was given, but uv is not installed.",
                hint="pip install uv, or use --installer pip",
            )
        return [UvInstaller(uv)]
    return [UvInstaller(uv), PipInstaller()] if uv is not None else [PipInstaller()]
