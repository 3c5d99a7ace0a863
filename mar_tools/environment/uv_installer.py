"""The fast installer: ``uv venv`` and ``uv pip install``.

uv does not see packages inherited through a ``.pth`` file (it reads only the
environment's own site-packages), so it would resolve torch from the index. It is told to
exclude torch instead (``--excludes``), and the builder checks afterwards that nothing it
installed asks for another torch. Other inherited packages are not visible to uv either:
a requirement's dependencies are installed into the environment even when the launching
environment has them, so uv may need an index where pip would not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mar_tools.environment.errors import EnvironmentSetupError
from mar_tools.environment.host import Host
from mar_tools.environment.installer import CommandResult, InstallRequest, run_command
from mar_tools.environment.layout import VenvLayout

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
