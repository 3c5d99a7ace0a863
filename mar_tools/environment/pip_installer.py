"""The reference installer: a virtualenv made with the ``virtualenv`` library, and pip.

This is what TorchServe's ``useVenv`` does (a venv inheriting the launching packages, then
``pip install -r`` from the model directory), minus ``-U``: a requirement that an inherited
package already satisfies is left to the inherited package, which keeps runs offline-able
and torch untouched. pip itself comes from the inherited packages when they have it, so
the new environment holds only what the requirements add.
"""

from __future__ import annotations

from pathlib import Path

from mar_tools.environment.errors import EnvironmentSetupError
from mar_tools.environment.host import Host
from mar_tools.environment.installer import CommandResult, InstallRequest, run_command
from mar_tools.environment.layout import VenvLayout

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
