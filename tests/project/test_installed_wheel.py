"""The wheel installed as users install it, ``mar-tools[run]`` in a fresh virtualenv, then
used: archive, validate, run. ``[run]`` brings numpy, so torch no longer warns "Failed to
initialize NumPy" on every ``mar run`` (shown by removing numpy again: the warning returns).

To keep this fast, the fresh venv sees this environment's packages (torch, the pinned CPU build,
among them) through a ``.pth`` file, as a user's environment already holds torch; pip counts
them as installed. numpy is left out, so pip must install it from the wheel's ``[run]``
metadata, as it installs mar-tools itself from the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from mar_tools import __version__
from tests.project.conftest import ROOT, Distributions
from tests.project.conftest import run_process as run

pytestmark = pytest.mark.slow

NUMPY_WARNING = "Failed to initialize NumPy"
#: Not shared with the fresh venv: what the wheel must bring itself (and pip's own files).
LEAVE_OUT = ("numpy", "mar_tools", "torch_model_archiver", "_editable", "pip", "__")
HANDLER = """\
import torch


def handle(data, context):
    if data is None:  # TorchServe calls a function handler once at load, without data
        return None
    return [str(int(torch.tensor([1, 2, 3]).sum())) for _ in data]
"""


def share_environment(farm: Path, venv: Path, leave_out: tuple[str, ...]) -> None:
    """Make this environment's installed packages visible in *venv* (symlinks in *farm*, on
    sys.path through a ``.pth``), except those whose names start with *leave_out*."""
    farm.mkdir()
    for entry in sorted(Path(sysconfig.get_path("purelib")).iterdir()):
        if entry.name.lower().startswith(leave_out) or entry.suffix == ".pth":
            continue
        (farm / entry.name).symlink_to(entry)
    purelib = run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        venv,
    ).stdout.strip()
    (Path(purelib) / "_shared.pth").write_text(f"{farm}\n")


@pytest.fixture(scope="module")
def venv(dists: Distributions, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with ``mar-tools[run]`` from the wheel (torch pinned to the CPU build)."""
    pytest.importorskip("torch")
    base = tmp_path_factory.mktemp("wheel-venv")
    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    share_environment(base / "shared", root, LEAVE_OUT)
    done = run(
        [
            root / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            ROOT / "dev" / "constraints.txt",
            f"{dists.wheel}[run]",
        ],
        base,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shared = run([root / "bin" / "python", "-c", "import torch; print(torch.__file__)"], base)
    assert shared.stdout.strip() == str(base / "shared" / "torch" / "__init__.py"), shared
    return root


@pytest.fixture(scope="module")
def archive(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny archive whose handler imports torch, built by the installed archiver."""
    model = tmp_path_factory.mktemp("model")
    (model / "handler.py").write_text(HANDLER)
    done = run(
        [
            venv / "bin" / "torch-model-archiver",
            "--model-name",
            "tiny",
            "--version",
            "1.0",
            "--handl",
            "handler.py",
            "--export",
            "out",
        ],
        cwd=model,
    )
    assert (done.returncode, done.stderr) == (0, "")
    return model / "out" / "tiny.mar"


def test_the_installed_commands_report_their_version(venv: Path) -> None:
    assert run([venv / "bin" / "mar", "--version"], venv).stdout == f"mar {__version__}\n"
    tool = run([venv / "bin" / "torch-model-archiver", "--tool-version"], venv).stdout
    assert tool.startswith(f"torch-model-archiver {__version__} (mar-tools)")


def test_validate_uses_the_schemas_inside_the_wheel(venv: Path, archive: Path) -> None:
    where = run(
        [
            venv / "bin" / "python",
            "-c",
            "from mar_tools.core.schema import schema_dir; print(schema_dir())",
        ],
        venv,
    )
    schemas = Path(where.stdout.strip())
    assert schemas.is_relative_to(venv) and schemas.name == "schemas", where.stdout
    assert sorted(p.name for p in schemas.glob("*.json")) == sorted(
        p.name for p in (ROOT / "schemas").glob("*.json")
    )
    done = run([venv / "bin" / "mar", "validate", archive], venv)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"{archive} (zip): valid\n")


def test_run_prints_no_numpy_warning_and_does_without_numpy(venv: Path, archive: Path) -> None:
    done = run([venv / "bin" / "mar", "run", archive, "--data", "x"], venv)
    assert (done.returncode, done.stdout, done.stderr) == (0, "6", "")
    # The control: without numpy (as [run] was before), torch warns on every run.
    pip: list[str | Path] = [venv / "bin" / "python", "-m", "pip"]
    removed = run([*pip, "uninstall", "--yes", "--quiet", "numpy"], venv)
    assert removed.returncode == 0, removed.stderr
    bare = run([venv / "bin" / "mar", "run", archive, "--data", "x"], venv)
    assert (bare.returncode, bare.stdout) == (0, "6")
    assert NUMPY_WARNING in bare.stderr
