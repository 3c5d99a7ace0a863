"""prepare_environment with real virtualenvs, real pip and uv, and local wheels only."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mar_tools.core.errors import ArchiveError, ExitCode
from mar_tools.env import EnvironmentSetupError, EnvOptions
from mar_tools.env.installers import find_uv
from mar_tools.env.venv_files import PTH_NAME, VenvLayout
from tests.env.conftest import PipLog, env_python, options, prepare_in
from tests.env.models import make_model

NO_UV = pytest.mark.skipif(find_uv() is None, reason="uv is not installed")
INSTALLERS = ["pip", pytest.param("uv", marks=NO_UV)]
DESCRIPTIONS = {"pip": "virtualenv + pip", "uv": "uv"}
VENV_SITE = VenvLayout.standard(Path(sys.prefix)).site_packages
GREET = "greet-1.0-py3-none-any.whl"


def copy_wheel(wheels: Path, name: str, model_dir: Path, subdir: str = "") -> str:
    """Copy wheel *name* (a file in *wheels*) into the model; return its relative path."""
    (model_dir / subdir).mkdir(parents=True, exist_ok=True)
    shutil.copy(wheels / name, model_dir / subdir / name)
    return f"./{subdir}/{name}" if subdir else f"./{name}"


def envs_in(cache_dir: Path) -> list[str]:
    root = cache_dir / "envs"
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.parametrize("installer", INSTALLERS)
def test_first_run_builds_the_environment_and_second_run_reuses_it_without_installer(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path, installer: str
) -> None:
    root = tmp_path / "model"
    wheel = copy_wheel(wheels, GREET, root, "wheels")
    make_model(root, requirements=f"{wheel}\n")
    messages: list[str] = []

    first = prepare_in(root, options(installer), messages.append)

    assert first.python.parent.parent.parent == cache_dir / "envs"
    assert first.env["VIRTUAL_ENV"] == str(first.python.parent.parent)
    assert env_python(first.python, "import greet; print(greet.MESSAGE)") == "hello from greet"
    record = json.loads((first.python.parent.parent / "mar-env.json").read_text())
    assert record["installer"] == installer and record["model"] == "demo"
    assert any("creating the environment" in m for m in messages)
    pip_calls = pip_log.calls()
    assert pip_calls == (1 if installer == "pip" else 0)
    inode = first.python.parent.parent.stat().st_ino

    messages.clear()
    second = prepare_in(root, options(installer), messages.append)

    assert second == first
    assert pip_log.calls() == pip_calls  # no pip call at all on the second run
    assert second.python.parent.parent.stat().st_ino == inode  # the same directory, untouched
    assert messages == [f"using the cached environment {first.python.parent.parent}"]
    assert envs_in(cache_dir) == [first.python.parent.parent.name]


@NO_UV
def test_uv_second_run_starts_no_installer(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv keeps no call log like pip's: the second run happens with uv gone. Any build would
    now have to use pip (logged), and would replace the directory and its record."""
    root = tmp_path / "model"
    wheel = copy_wheel(wheels, GREET, root)
    make_model(root, requirements=f"{wheel}\n")
    first = prepare_in(root, options("uv"))
    env_root = first.python.parent.parent
    before = (env_root.stat().st_ino, (env_root / "mar-env.json").read_text())

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(sys.modules, "uv", None)  # `import uv` now fails: no uv anywhere
    second = prepare_in(root, options("auto"))

    assert second.python == first.python
    assert (env_root.stat().st_ino, (env_root / "mar-env.json").read_text()) == before
    assert json.loads(before[1])["installer"] == "uv"
    assert pip_log.calls() == 0


@pytest.mark.parametrize("installer", INSTALLERS)
def test_the_environments_package_wins_over_the_inherited_one(
    tmp_path: Path, cache_dir: Path, wheels: Path, installer: str
) -> None:
    inherited = importlib.metadata.version("tqdm")  # the launching environment's copy
    assert inherited != "0.0.1"
    root = tmp_path / "model"
    wheel = copy_wheel(wheels, "tqdm-0.0.1-py3-none-any.whl", root)
    make_model(root, requirements=f"{wheel}\n")

    interpreter = prepare_in(root, options(installer))

    code = (
        "import importlib.metadata, tqdm, torch\n"
        "print(tqdm.__version__, importlib.metadata.version('tqdm'), torch.__version__)"
    )
    seen = env_python(interpreter.python, code).split()
    assert seen == ["0.0.1", "0.0.1", importlib.metadata.version("torch")]
    # The launching environment's copy is untouched (pip did not uninstall it).
    assert importlib.metadata.version("tqdm") == inherited


def test_inherits_the_launching_virtualenv_not_the_base_interpreter(
    tmp_path: Path, cache_dir: Path, wheels: Path
) -> None:
    assert sys.prefix != sys.base_prefix, "the tests run from a virtualenv (.venv)"
    root = tmp_path / "model"
    make_model(root, requirements=f"{copy_wheel(wheels, 'greet-1.0-py3-none-any.whl', root)}\n")

    interpreter = prepare_in(root, options("pip"))

    report = json.loads(
        env_python(
            interpreter.python,
            "import json, sys, torch, mar_tools, greet\n"
            "print(json.dumps({'prefix': sys.prefix, 'base': sys.base_prefix, 'path': sys.path,"
            " 'torch': torch.__file__, 'mar_tools': mar_tools.__file__, 'greet': greet.__file__}))",
        )
    )
    env_root = str(interpreter.python.parent.parent)
    venv_site = str(VENV_SITE)
    assert report["prefix"] == env_root
    assert report["base"] == sys.base_prefix  # created from the real interpreter ...
    assert report["torch"].startswith(venv_site)  # ... yet it sees the launching venv's torch
    assert report["greet"].startswith(env_root)
    assert Path(report["mar_tools"]).is_relative_to(Path(__file__).parents[2])  # editable .pth
    own = next(i for i, p in enumerate(report["path"]) if p.startswith(env_root))
    assert own < report["path"].index(venv_site)  # its own packages first


def test_inherits_from_a_launching_venv_that_is_not_the_test_venv(
    tmp_path: Path, cache_dir: Path, wheels: Path
) -> None:
    """TorchServe #2942: mar installed in some venv L; the model env must see L's packages."""
    import virtualenv

    launcher = tmp_path / "launcher"
    virtualenv.cli_run([str(launcher), "--no-seed", "--activators", ""], setup_logging=False)
    layout = VenvLayout.standard(launcher)
    marker = tmp_path / "marker"
    (marker / "launcher_only").mkdir(parents=True)
    (marker / "launcher_only" / "__init__.py").write_text("WHERE = 'launcher'\n")
    # L's own package, and mar-tools with its dependencies reachable from L (as an install would).
    shutil.copytree(marker / "launcher_only", layout.site_packages / "launcher_only")
    (layout.site_packages / "mar_tools_deps.pth").write_text(
        f"import site; site.addsitedir({str(VENV_SITE)!r})\n"
    )
    root = tmp_path / "model"
    make_model(root, requirements=f"{copy_wheel(wheels, 'greet-1.0-py3-none-any.whl', root)}\n")
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from mar_tools.env import EnvOptions, prepare_environment\n"
        "from mar_tools.core.model_files import ModelFiles\n"
        "from mar_tools.core.model_source import read_model\n"
        f"root = Path({str(root)!r})\n"
        "model = read_model(ModelFiles.directory(root), str(root))\n"
        "it = prepare_environment(model, root,"
        " EnvOptions(installer='pip', pip_options=('--no-index',)))\n"
        "print(it.python)\n"
    )

    python = Path(env_python(layout.python, script).splitlines()[-1])

    assert (
        env_python(python, "import launcher_only, greet; print(launcher_only.WHERE)") == "launcher"
    )
    pth = (VenvLayout.standard(python.parent.parent).site_packages / PTH_NAME).read_text()
    assert str(layout.site_packages) in pth


@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_torch_requirement_is_satisfied_by_the_inherited_torch(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path, installer: str
) -> None:
    root = tmp_path / "model"
    wheel = copy_wheel(wheels, "needs_torch-1.0-py3-none-any.whl", root)
    make_model(root, requirements=f"torch>=2.0\n{wheel}\n")

    interpreter = prepare_in(root, options(installer))

    env_root = interpreter.python.parent.parent
    site = VenvLayout.standard(env_root).site_packages
    assert not list(site.glob("torch*")), "torch must never be installed into the environment"
    out = env_python(interpreter.python, "import needs_torch, torch; print(torch.__file__)")
    assert out.startswith(str(VENV_SITE))
    if installer == "pip":
        log = (env_root / "mar-env" / "install.log").read_text()
        assert "Requirement already satisfied: torch>=2.0" in log


@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_requirement_asking_for_another_torch_fails_before_installing(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, installer: str
) -> None:
    root = tmp_path / "model"
    make_model(root, requirements="# needs the newest\ntorch>=99\n")

    with pytest.raises(EnvironmentSetupError) as caught:
        prepare_in(root, options(installer))

    from mar_tools.env.host import distribution_version

    assert caught.value.exit_code == ExitCode.ENVIRONMENT
    assert int(ExitCode.ENVIRONMENT) == 5
    assert caught.value.message == (
        "cannot create the environment for model demo: requirements.txt line 2 asks for "
        f"'torch>=99', which conflicts with torch {distribution_version('torch')} from the "
        "launching environment. Per-model environments keep the launching environment's "
        "torch; no requirement can replace it."
    )
    assert pip_log.calls() == 0
    assert envs_in(cache_dir) == []


@pytest.mark.parametrize("installer", INSTALLERS)
def test_another_torch_by_file_url_fails_before_installing(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, installer: str
) -> None:
    """pip used to process (for a remote URL: download) such a torch before failing on the
    constraint, and uv to leave it out silently, giving the model the inherited torch. (A
    file URL always names an absolute path: outside the model, it is refused first.)"""
    from tests.support.wheels import write_wheel

    root = tmp_path / "model"
    wheel = write_wheel(root / "wheels", "torch", "99.0", {"torch/__init__.py": ""})
    make_model(root, requirements="./wheels/torch-99.0-py3-none-any.whl\n")

    with pytest.raises(EnvironmentSetupError) as caught:
        prepare_in(root, options(installer))

    assert caught.value.message.startswith(
        "cannot create the environment for model demo: requirements.txt line 1 asks for "
        "'./wheels/torch-99.0-py3-none-any.whl', which conflicts with torch "
    )
    assert pip_log.calls() == 0
    assert envs_in(cache_dir) == []
    (root / "requirements.txt").write_text(f"torch @ {wheel.as_uri()}\n")
    with pytest.raises(ArchiveError, match=r"is outside the model"):
        prepare_in(root, options(installer))
    assert pip_log.calls() == 0


@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_dependency_asking_for_another_torch_is_named(
    tmp_path: Path, cache_dir: Path, wheels: Path, installer: str
) -> None:
    root = tmp_path / "model"
    wheel = copy_wheel(wheels, "wants_new_torch-1.0-py3-none-any.whl", root)
    make_model(root, requirements=f"{wheel}\n")

    with pytest.raises(EnvironmentSetupError) as caught:
        prepare_in(root, options(installer))

    first_line = caught.value.message.splitlines()[0]
    assert "wants-new-torch" in first_line and "torch>=99" in first_line
    assert "no requirement can replace it" in first_line
    assert envs_in(cache_dir) == []


@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_broken_requirement_is_named_and_nothing_is_cached(
    tmp_path: Path, cache_dir: Path, wheels: Path, installer: str
) -> None:
    root = tmp_path / "model"
    wheel = copy_wheel(wheels, GREET, root)
    make_model(root, requirements=f"{wheel}\nno-such-package==9.9\n")

    with pytest.raises(EnvironmentSetupError) as caught:
        prepare_in(root, options(installer))

    message = caught.value.message
    assert message.startswith(
        f"installing requirements.txt for model demo with {DESCRIPTIONS[installer]} failed: "
    )
    assert "no-such-package==9.9" in message.splitlines()[0]
    assert "\n  | " in message  # the tail of the installer's output follows
    assert caught.value.hint is not None and str(cache_dir / "envs" / ".logs") in caught.value.hint
    assert envs_in(cache_dir) == []  # no finished env, no leftover build directory
    assert not list((cache_dir / "envs").glob(".build-*"))
    # The next run does not trust anything left behind: it tries again, and fails again.
    with pytest.raises(EnvironmentSetupError):
        prepare_in(root, options(installer))


def test_an_sdist_that_cannot_build_is_named(tmp_path: Path, cache_dir: Path) -> None:
    from tests.support.wheels import write_sdist

    root = tmp_path / "model"
    write_sdist(root, "broken", "1.0", "raise SystemExit('cannot build me')\n")
    sdist = root / "broken-1.0.tar.gz"
    # Make the build itself fail: a pyproject.toml whose backend does not exist.
    import io
    import tarfile

    with tarfile.open(sdist, "w:gz") as archive:
        data = b'[build-system]\nrequires = []\nbuild-backend = "no_such_backend"\n'
        info = tarfile.TarInfo("broken-1.0/pyproject.toml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    make_model(root, requirements="./broken-1.0.tar.gz\n")

    with pytest.raises(EnvironmentSetupError) as caught:
        prepare_in(root, options("pip"))

    assert "broken" in caught.value.message.splitlines()[0]
    assert envs_in(cache_dir) == []


def test_an_sdist_and_nested_requirement_files_resolve_from_the_model_directory(
    tmp_path: Path, cache_dir: Path, wheels: Path
) -> None:
    from tests.support.wheels import write_sdist

    root = tmp_path / "model"
    write_sdist(root / "dist", "shout", "2.0", "def shout(text):\n    return text.upper()\n")
    copy_wheel(wheels, GREET, root, "wheels")
    # Paths inside a nested file resolve against pip's working directory: the model dir.
    files = {"extra/more.txt": f"./wheels/{GREET}\n"}
    requirements = "-r extra/more.txt\n./dist/shout-2.0.tar.gz\n"
    make_model(root, requirements=requirements, files=files)
    opts = EnvOptions(installer="pip", pip_options=("--no-index", "--no-build-isolation"))

    interpreter = prepare_in(root, opts)

    out = env_python(interpreter.python, "import greet, shout; print(shout.shout(greet.MESSAGE))")
    assert out == "HELLO FROM GREET"


def test_uv_failure_falls_back_to_pip_in_auto_mode(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    """uses-tqdm needs tqdm: pip finds it inherited; uv cannot see inherited packages and,
    offline, fails. ``--installer auto`` then builds with pip."""
    if find_uv() is None:
        pytest.skip("no uv")
    root = tmp_path / "model"
    wheel = copy_wheel(wheels, "uses_tqdm-1.0-py3-none-any.whl", root)
    make_model(root, requirements=f"{wheel}\n")
    messages: list[str] = []

    interpreter = prepare_in(root, options("auto"), messages.append)

    assert any(
        m.startswith("uv failed (") and m.endswith("retrying with virtualenv + pip")
        for m in messages
    )
    record = json.loads((interpreter.python.parent.parent / "mar-env.json").read_text())
    assert record["installer"] == "pip"
    assert pip_log.calls() == 1
    with pytest.raises(EnvironmentSetupError):
        prepare_in(root, options("uv", rebuild=True))


def test_use_venv_without_requirements_gets_an_empty_environment(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog
) -> None:
    root = tmp_path / "model"
    make_model(root, config={"useVenv": True, "batchSize": 1})

    interpreter = prepare_in(root, options("pip"))

    assert interpreter.python.is_relative_to(cache_dir)
    assert pip_log.calls() == 0
    out = env_python(interpreter.python, "import sys, torch; print(sys.prefix != sys.base_prefix)")
    assert out == "True"
    record = json.loads((interpreter.python.parent.parent / "mar-env.json").read_text())
    assert record["requirements"] is None


def test_use_venv_is_ignored_for_other_runtimes_and_env_none_skips_everything(
    tmp_path: Path, cache_dir: Path
) -> None:
    root = tmp_path / "model"
    make_model(root, config={"useVenv": True}, runtime="python3")
    messages: list[str] = []

    current = prepare_in(root, options("pip"), messages.append)

    assert current.python == Path(sys.executable)
    assert messages == [
        "useVenv is ignored for runtime 'python3' (TorchServe honours it for 'python' only)."
    ]
    with_reqs = make_model(tmp_path / "other", requirements="anything\n")
    messages.clear()
    skipped = prepare_in(with_reqs.root, options("pip", mode="none"), messages.append)
    assert skipped.python == Path(sys.executable)
    assert messages == ["--env none: requirements.txt is not installed."]
    assert envs_in(cache_dir) == []


def test_rebuild_replaces_the_environment(
    tmp_path: Path, cache_dir: Path, pip_log: PipLog, wheels: Path
) -> None:
    root = tmp_path / "model"
    make_model(root, requirements=f"{copy_wheel(wheels, 'greet-1.0-py3-none-any.whl', root)}\n")
    first = prepare_in(root, options("pip"))
    marker = first.python.parent.parent / "left-by-first-build"
    marker.write_text("x")

    second = prepare_in(root, options("pip", rebuild=True))

    assert second.python == first.python
    assert not marker.exists()
    assert pip_log.calls() == 2
    assert envs_in(cache_dir) == [first.python.parent.parent.name]
    assert env_python(second.python, "import greet; print('ok')") == "ok"


def test_a_manifest_naming_a_missing_requirements_file_is_an_archive_error(
    tmp_path: Path, cache_dir: Path
) -> None:
    model = make_model(tmp_path / "model", requirements="x\n")
    (model.root / "requirements.txt").unlink()

    with pytest.raises(ArchiveError) as caught:
        prepare_in(model.root, options("pip"))

    assert caught.value.message == (
        f"{model.root}: model.requirementsFile names 'requirements.txt', which is not in the "
        "archive."
    )


@pytest.mark.parametrize("installer", INSTALLERS)
def test_console_scripts_work_after_the_build_directory_is_renamed(
    tmp_path: Path, cache_dir: Path, wheels: Path, installer: str
) -> None:
    root = tmp_path / "model"
    make_model(root, requirements=f"{copy_wheel(wheels, 'hello_cli-1.0-py3-none-any.whl', root)}\n")

    interpreter = prepare_in(root, options(installer))

    env_root = interpreter.python.parent.parent
    script = env_root / "bin" / "hello-cli"
    lines = script.read_text().splitlines()
    if lines[0] == "#!/bin/sh":
        # A path too long for a shebang: installers write a shell trampoline instead.
        assert "exec" in lines[1] and f"{env_root}/bin/python" in lines[1]
    else:
        assert lines[0] == f"#!{env_root}/bin/python"
    done = subprocess.run([str(script)], capture_output=True, text=True, check=True)
    assert done.stdout == f"hello from {env_root}\n"


def test_an_unwritable_cache_is_an_environment_error(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model", config={"useVenv": True})
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")

    with pytest.raises(EnvironmentSetupError) as caught:
        prepare_in(model.root, options("pip", cache_dir=blocker))

    assert caught.value.message.startswith(f"cannot write the environment cache {blocker}/envs: ")
    assert caught.value.hint == "point --cache-dir or MAR_CACHE_DIR at a writable directory"


def test_a_failed_build_succeeds_later_under_the_same_key_with_another_source(
    tmp_path: Path, cache_dir: Path, wheels: Path
) -> None:
    """Where packages come from is not in the key: adding --find-links after a failure
    builds the same environment, and the failure's log goes away."""
    model = make_model(tmp_path / "model", requirements="greet==1.0\n")

    with pytest.raises(EnvironmentSetupError) as caught:
        prepare_in(model.root, options("pip"))
    failure_logs = list((cache_dir / "envs" / ".logs").iterdir())
    assert len(failure_logs) == 1 and str(failure_logs[0]) in (caught.value.hint or "")
    failure_log = failure_logs[0]

    found = options("pip", find_links=(str(wheels),))
    interpreter = prepare_in(model.root, found)

    assert interpreter.python.parent.parent.name == failure_log.stem
    assert not failure_log.exists()


def test_a_run_that_finds_its_environment_loads_no_build_machinery(
    tmp_path: Path, cache_dir: Path, wheels: Path
) -> None:
    """Every ``mar run`` of a model with requirements pays for what finding its environment
    imports: the installers, filelock, packaging and urllib.request (~50 ms) are for builds."""
    root = tmp_path / "model"
    make_model(root, requirements=f"{copy_wheel(wheels, GREET, root)}\n")
    built = prepare_in(root, options("pip"))
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mar_tools.env import EnvOptions, prepare_environment\n"
        "from mar_tools.core.model_files import ModelFiles\n"
        "from mar_tools.core.model_source import read_model\n"
        f"root = Path({str(root)!r})\n"
        "model = read_model(ModelFiles.directory(root), str(root))\n"
        "it = prepare_environment(model, root, EnvOptions())\n"
        "heavy = ('filelock', 'packaging', 'virtualenv', 'urllib.request', 'importlib.metadata',"
        " 'mar_tools.env.builder')\n"
        "print(it.python, *sorted(name for name in heavy if name in sys.modules))\n"
    )

    assert env_python(Path(sys.executable), script) == str(built.python)
