"""The requirements policy (docs/security.md): what an archive's requirements may not ask.

Real ``mar`` processes on real archives; pip runs offline (``--no-index``) and its calls are
counted, so a refusal is shown to happen before any installer starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from mar_tools.validate import validate_archive
from tests.env.conftest import MAR, PipLog
from tests.env.models import make_model

GREET = "greet-1.0-py3-none-any.whl"
OFFLINE_PIP = ("--installer", "pip", "--pip-option=--no-index")


def mar(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MAR), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **env},
        check=False,
    )


def greeter(tmp_path: Path, wheels: Path, first_lines: str, name: str = "greeter") -> Path:
    root = tmp_path / name
    root.mkdir(parents=True)
    shutil.copy(wheels / GREET, root / GREET)
    model = make_model(root, name=name, requirements=f"{first_lines}./{GREET}\n")
    return model.archive(tmp_path / f"{name}.mar")


def test_an_index_option_is_refused_unless_allowed(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    archive = greeter(tmp_path, wheels, "--extra-index-url http://127.0.0.1:9/simple\n")

    refused = mar("env", "create", str(archive), *OFFLINE_PIP)

    assert refused.returncode == 3 and refused.stdout == ""
    assert refused.stderr == (
        f"mar: error: {archive}: refusing to install the archive's requirements: "
        "requirements.txt line 1: --extra-index-url http://127.0.0.1:9/simple chooses where "
        "packages are installed from.\n"
        "hint: pass --allow-requirements-options if you trust the archive to choose its package "
        "index, or choose one yourself with --index-url/--extra-index-url/--find-links "
        "(see docs/security.md).\n"
    )
    assert pip_log.calls() == 0
    assert not (cache_dir / "envs").exists() or not any(
        not p.name.startswith(".") for p in (cache_dir / "envs").iterdir()
    )
    run = mar("run", str(archive), "--data", "x", *OFFLINE_PIP)
    assert run.returncode == 3 and "refusing to install the archive's requirements" in run.stderr

    allowed = mar("env", "create", str(archive), *OFFLINE_PIP, "--allow-requirements-options")
    assert allowed.returncode == 0, allowed.stderr
    assert pip_log.calls() == 1


def test_variables_are_never_expanded_even_when_options_are_allowed(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    archive = greeter(tmp_path, wheels, "--index-url http://127.0.0.1:9/${TOKEN}/simple\n")
    for allow in ((), ("--allow-requirements-options",)):
        done = mar("env", "create", str(archive), *OFFLINE_PIP, *allow, TOKEN="s3cret-token")
        assert done.returncode == 3, done.stderr
        assert "requirements.txt line 1: ${TOKEN} would be expanded by pip" in done.stderr
        assert "s3cret-token" not in done.stderr + done.stdout
    assert pip_log.calls() == 0
    # mar validate reports both; before the policy it said "valid".
    codes = {finding.code for finding in validate_archive(archive).findings}
    assert {"requirements.index-option", "requirements.env-var"} <= codes


def test_the_environment_key_ignores_the_values_of_variables(
    tmp_path: Path, cache_dir: Path, wheels: Path
) -> None:
    archive = greeter(tmp_path, wheels, "-r ${EXTRA}/more.txt\n")
    first = mar("env", "path", str(archive), EXTRA="/etc")
    second = mar("env", "path", str(archive), EXTRA="/usr")
    assert first.stdout == second.stdout and first.stdout.strip()


def test_paths_outside_the_archive_are_refused_without_reading_them(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    archive = greeter(tmp_path, wheels, "-f /usr\n-r ../../etc/hostname\n")
    done = mar("env", "create", str(archive), *OFFLINE_PIP)
    assert done.returncode == 3, done.stderr
    assert (
        "requirements.txt line 1: '/usr' is outside the model; only the archive's own files can "
        "be referred to; requirements.txt line 2: '../../etc/hostname' is outside the model"
    ) in done.stderr
    assert "ship the files inside the archive" in done.stderr
    assert pip_log.calls() == 0  # before the policy: /usr was walked and hashed, then a crash
