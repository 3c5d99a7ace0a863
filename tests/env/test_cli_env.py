"""``mar env``: whole outputs through CliRunner, and real ``mar`` processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from mar_tools.cli import cli
from mar_tools.core.reporter import SilentReporter
from mar_tools.env.lock import held
from mar_tools.env.store import EnvStore
from tests.env.conftest import MAR, PipLog, env_python, options, prepare_in
from tests.env.models import Model, make_model
from tests.env.test_store import PAYLOAD, fake_env

RUNNER_ENV = {"NO_COLOR": "1", "COLUMNS": "100"}
GREET = "greet-1.0-py3-none-any.whl"
OFFLINE_PIP = ("--installer", "pip", "--pip-option=--no-index")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=RUNNER_ENV)
    return result.exit_code, result.stdout, result.stderr


def mar(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **RUNNER_ENV}
    return subprocess.run(
        [str(MAR), *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def greet_model(tmp_path: Path, wheels: Path, name: str = "greeter") -> Model:
    root = tmp_path / name
    root.mkdir(parents=True)
    shutil.copy(wheels / GREET, root / GREET)
    return make_model(root, name=name, requirements=f"./{GREET}\n")


def test_list_shows_key_model_size_and_last_use(tmp_path: Path) -> None:
    store = EnvStore(tmp_path / "envs")
    fake_env(store, "0123456789abcdef", "resnet-18", 3.05)
    fake_env(store, "fedcba9876543210", "bert", 0)

    code, out, err = invoke("env", "list", "--cache-dir", str(tmp_path))

    assert (code, err) == (0, "")
    assert out == (
        "KEY               MODEL      SIZE     LAST USED   INSTALLER\n"
        "fedcba9876543210  bert       2.0 MiB  just now    pip\n"
        "0123456789abcdef  resnet-18  2.0 MiB  3 days ago  pip\n"
    )


def test_list_json_and_empty(tmp_path: Path) -> None:
    assert invoke("env", "list", "--cache-dir", str(tmp_path)) == (
        0,
        f"No environments in {tmp_path / 'envs'}.\n",
        "",
    )
    store = EnvStore(tmp_path / "envs")
    root = fake_env(store, "0123456789abcdef", "bert", 0)

    code, out, _ = invoke("env", "list", "--json", "--cache-dir", str(tmp_path))

    listed = json.loads(out)
    stamp = time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime((root / "mar-env.json").stat().st_mtime)
    )
    assert code == 0
    assert listed == [
        {
            "key": "0123456789abcdef" * 4,
            "path": str(root),
            "model": "bert",
            "size": PAYLOAD + (root / "mar-env.json").stat().st_size,
            "last_used": stamp,
            "created": "2026-01-01T00:00:00+00:00",
            "installer": "pip",
            "python": "3.11.7",
            "torch": "2.13.0+cpu",
            "requirements": "requirements.txt",
        }
    ]


def test_prune_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAR_CACHE_DIR", str(tmp_path))  # no --cache-dir: the variable counts
    store = EnvStore(tmp_path / "envs")
    fake_env(store, "0123456789abcdef", "old-model", 10)
    fake_env(store, "fedcba9876543210", "new-model", 1)

    assert invoke("env", "prune") == (0, "Removed 0 entries, freed 0 B.\n", "")
    assert invoke("env", "prune", "--older-than", "5") == (
        0,
        "removed environment 0123456789abcdef (model old-model), 2.0 MiB\n"
        "Removed 1 entry, freed 2.0 MiB.\n",
        "",
    )
    assert invoke("env", "prune", "--all", "--yes") == (
        0,
        "removed environment fedcba9876543210 (model new-model), 2.0 MiB\n"
        "Removed 1 entry, freed 2.0 MiB.\n",
        "",
    )
    code, _, err = invoke("env", "prune", "--older-than", "-1")
    assert code == 2 and "Invalid value for '--older-than'" in err


def test_prune_removes_what_killed_extractions_left(tmp_path: Path) -> None:
    from tests.core.writers import kill, start_half_writer

    root = tmp_path / "extracted" / "v2"
    root.mkdir(parents=True)
    dead, leftover = start_half_writer(root / "extraction", "dir")
    kill(dead)
    assert leftover is not None and leftover.exists()
    assert invoke("env", "prune", "--cache-dir", str(tmp_path)) == (
        0,
        f"removed {leftover}, left by a killed extraction\nRemoved 1 entry, freed 0 B.\n",
        "",
    )
    assert not leftover.exists()


def test_path_and_create_through_the_cli(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    archive = greet_model(tmp_path, wheels).archive(tmp_path / "greeter.mar")

    before = invoke("env", "path", str(archive))
    code, out, err = invoke(
        "env", "create", str(archive), "--installer", "pip", "--pip-option=--no-index"
    )
    after = invoke("env", "path", str(archive))

    env_dir = out.strip()
    assert Path(env_dir).parent == cache_dir / "envs"
    assert before == (
        1,
        env_dir + "\n",
        f"mar: warning: not created yet; run: mar env create {archive}\n",
    )
    assert code == 0
    short = Path(env_dir).name
    assert err.splitlines()[:2] == [
        f"mar: creating the environment for model greeter ({short}) with virtualenv + pip...",
        "mar: installing requirements.txt with virtualenv + pip...",
    ]
    assert err.splitlines()[2].startswith("mar: environment ready in ")
    assert after == (0, env_dir + "\n", "")
    assert pip_log.calls() == 1
    # Created again: found, no installer.
    assert invoke("env", "create", str(archive))[:2] == (0, env_dir + "\n")
    assert pip_log.calls() == 1


def test_an_archive_without_requirements_needs_no_environment(
    tmp_path: Path, cache_dir: Path
) -> None:
    archive = make_model(tmp_path / "plain", name="plain").archive(tmp_path / "plain.mar")

    assert invoke("env", "path", str(archive)) == (
        1,
        "",
        "mar: warning: model plain needs no environment (no requirementsFile and no useVenv): "
        "it runs in the current interpreter.\n",
    )
    assert invoke("env", "create", str(archive)) == (
        0,
        "",
        "mar: warning: model plain needs no environment (no requirementsFile and no useVenv); "
        "use --env venv to create one anyway.\n",
    )
    code, out, _ = invoke("env", "create", str(archive), "--env", "venv", "--installer", "pip")
    assert code == 0 and Path(out.strip()).parent == cache_dir / "envs"
    assert invoke("env", "path", str(archive), "--env", "venv") == (0, out, "")


def test_env_create_in_a_real_process_matches_what_mar_run_computes(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    """The key from the archive (mar env) equals the key from the extracted dir (mar run)."""
    model = greet_model(tmp_path, wheels)
    archive = model.archive(tmp_path / "greeter.mar")

    done = mar("env", "create", str(archive), "--installer", "pip", "--pip-option=--no-index")

    assert done.returncode == 0, done.stderr
    extracted = tmp_path / "extracted"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(extracted)
    interpreter = prepare_in(extracted, options("pip"))
    assert str(interpreter.python.parent.parent) == done.stdout.strip()
    assert pip_log.calls() == 1
    assert (
        env_python(interpreter.python, "import greet; print(greet.MESSAGE)") == "hello from greet"
    )


def test_concurrent_first_runs_build_one_environment_and_all_succeed(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    """Four processes start while the key's lock is held, so all four are waiting at the
    same moment; when it is released they race. One builds; the others reuse its result."""
    archive = greet_model(tmp_path, wheels).archive(tmp_path / "greeter.mar")
    env_dir = Path(mar("env", "path", str(archive)).stdout.strip())
    store = EnvStore(cache_dir / "envs")
    argv = [str(MAR), "env", "create", str(archive), *OFFLINE_PIP]
    logs = [tmp_path / f"run{i}.err" for i in range(4)]

    with held(store.lock_path(env_dir.name), "holding the door", SilentReporter()):
        runs = []
        for log in logs:
            with log.open("w") as err:
                runs.append(
                    subprocess.Popen(
                        argv,
                        stdout=subprocess.PIPE,
                        stderr=err,
                        text=True,
                        env={**os.environ, **RUNNER_ENV},
                    )
                )
        deadline = time.monotonic() + 120
        while not all("waiting for another mar process" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            time.sleep(0.05)
    outputs = [run.communicate(timeout=300)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0, 0, 0], [log.read_text() for log in logs]
    assert outputs == [f"{env_dir}\n"] * 4
    assert pip_log.calls() == 1
    built = [log for log in logs if "installing requirements.txt" in log.read_text()]
    reused = [log for log in logs if "another process just built" in log.read_text()]
    assert (len(built), len(reused)) == (1, 3)
    finished = [p.name for p in (cache_dir / "envs").iterdir() if not p.name.startswith(".")]
    assert finished == [env_dir.name]


def test_a_failing_requirement_exits_5_with_the_requirement_named(
    tmp_path: Path, cache_dir: Path
) -> None:
    model = make_model(tmp_path / "broken", name="broken", requirements="no-such-package==9.9\n")
    archive = model.archive(tmp_path / "broken.mar")

    done = mar("env", "create", str(archive), "--installer", "pip", "--pip-option=--no-index")

    assert done.returncode == 5
    lines = done.stderr.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith("mar: error: "))
    assert lines[error] == (
        "mar: error: installing requirements.txt for model broken with virtualenv + pip failed: "
        "no version of no-such-package==9.9 could be found."
    )
    assert "  | ERROR: No matching distribution found for no-such-package==9.9" in lines
    assert lines[-1].startswith("hint: the installer's full output is in ")
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert [p.name for p in (cache_dir / "envs").iterdir() if not p.name.startswith(".")] == []


def test_bad_archives_exit_3(tmp_path: Path, cache_dir: Path) -> None:
    missing = mar("env", "path", str(tmp_path / "nothere.mar"))
    assert (missing.returncode, missing.stderr) == (
        3,
        f"mar: error: {tmp_path / 'nothere.mar'}: no such file or directory.\n",
    )
    model = make_model(tmp_path / "m", name="m", requirements="x\n")
    archive = tmp_path / "m.mar"
    with zipfile.ZipFile(archive, "w") as opened:  # no requirements.txt inside
        opened.writestr("MAR-INF/MANIFEST.json", model.manifest.render())
    lacking = mar("env", "create", str(archive))
    assert lacking.returncode == 3
    assert lacking.stderr.startswith(
        f"mar: error: {archive}: model.requirementsFile names 'requirements.txt', which is not "
        "in the archive.\n"
    )


def test_use_venv_in_a_tgz_archive(tmp_path: Path, cache_dir: Path, pip_log: PipLog) -> None:
    model = make_model(tmp_path / "tg", name="tg", config={"useVenv": True})
    archive = tmp_path / "tg.tar.gz"
    with tarfile.open(archive, "w:gz") as opened:
        for path in sorted(model.root.rglob("*")):
            if path.is_file():
                opened.add(path, f"tg/{path.relative_to(model.root).as_posix()}")

    done = mar("env", "create", str(archive), "--installer", "pip")

    assert done.returncode == 0, done.stderr
    python = Path(done.stdout.strip()) / "bin" / "python"
    assert env_python(python, "import sys; print(sys.prefix == sys.base_prefix)") == "False"
    assert pip_log.calls() == 0
    assert mar("env", "path", str(archive)).stdout == done.stdout


def test_a_directory_archive_is_read_and_installed_in_place(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    """A no-archive model directory: ``mar run`` uses it in place, so does ``mar env``, and a
    nested file (``-r shared/more.txt``) counts in the key for both. A file outside the
    model (``-r ../shared.txt``) is refused, as in an archive: it would be read from
    whichever machine installs."""
    model = greet_model(tmp_path, wheels)
    (model.root / "shared").mkdir()
    (model.root / "shared" / "more.txt").write_text(f"./{GREET}\n")  # pip: from the cwd
    (model.root / "requirements.txt").write_text("-r shared/more.txt\n")
    (model.root / "MAR-INF" / "MANIFEST.json").write_text(model.manifest.render())

    code, out, err = invoke("env", "create", str(model.root), *OFFLINE_PIP)

    assert code == 0, err
    interpreter = prepare_in(model.root, options("pip"))
    assert str(interpreter.python.parent.parent) == out.strip()
    assert pip_log.calls() == 1
    (model.root / "shared" / "more.txt").write_text(f"./{GREET}\n# changed\n")
    assert invoke("env", "path", str(model.root))[0] == 1  # a new key: not built yet
    (tmp_path / "shared.txt").write_text(f"./{GREET}\n")
    (model.root / "requirements.txt").write_text("-r ../shared.txt\n")
    refused = mar("env", "create", str(model.root), *OFFLINE_PIP)
    assert refused.returncode == 3 and "'../shared.txt' is outside the model" in refused.stderr


def test_env_create_installs_from_the_extraction_mar_run_uses(
    tmp_path: Path, cache_dir: Path
) -> None:
    """An editable requirement points at the directory it was installed from. ``mar env
    create`` used to install from a temporary copy it then deleted, leaving ``mar run`` an
    environment whose editable package could not be imported."""
    pyproject = (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "edpkg"\nversion = "1.0"\n'
        '[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    )
    files = {"sub/pyproject.toml": pyproject, "sub/src/edpkg/__init__.py": "X = 42\n"}
    model = make_model(tmp_path / "ed", name="ed", requirements="-e ./sub\n", files=files)
    archive = model.archive(tmp_path / "ed.mar")

    code, out, err = invoke(
        "env", "create", str(archive), *OFFLINE_PIP, "--pip-option=--no-build-isolation"
    )

    assert code == 0, err
    python = Path(out.strip()) / "bin" / "python"
    assert env_python(python, "import edpkg; print(edpkg.__file__)").startswith(
        str(cache_dir / "extracted")
    )


def test_env_create_with_an_unwritable_cache_exits_5(tmp_path: Path) -> None:
    archive = make_model(tmp_path / "v", name="v", config={"useVenv": True}).archive(
        tmp_path / "v.mar"
    )
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "extracted").write_text("")  # the archive cannot be extracted there

    done = mar("env", "create", str(archive), "--cache-dir", str(cache))

    assert (done.returncode, done.stdout) == (5, "")
    assert done.stderr == (
        f"mar: error: cannot use the extraction cache {cache / 'extracted'} (Not a directory).\n"
        "hint: point --cache-dir or MAR_CACHE_DIR at a writable directory\n"
    )
