"""One message style for every error of both console scripts, click's own included::

    PROG: error: MESSAGE
    hint: WHAT TO DO

and the output options every command takes (``-q``, ``-v``, ``--color``). Real processes,
whole stderr compared."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest

from mar_tools.cli import SUBCOMMANDS, _add_output_options
from tests.run.support import manifest

ENV = {"NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}


def mar(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    environment = {**os.environ, **ENV, **(env or {})}
    for name in ("MAR_DEBUG", "FORCE_COLOR"):
        if env is None or name not in env:
            environment.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "mar_tools", *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_a_mistyped_command_gets_the_closest_one() -> None:
    assert mar("vaildate", "x.mar") == (
        2,
        "",
        "mar: error: no such command 'vaildate'.\nhint: did you mean 'validate'?\n",
    )


def test_an_unknown_command_lists_the_commands() -> None:
    code, out, err = mar("frobnicate")
    assert (code, out) == (2, "")
    assert err == (
        "mar: error: no such command 'frobnicate'.\n"
        f"hint: the commands are {', '.join(SUBCOMMANDS)} (see 'mar --help').\n"
    )


def test_a_mistyped_subcommand_of_a_group_gets_the_closest_one() -> None:
    assert mar("env", "lst") == (
        2,
        "",
        "mar: error: no such command 'lst'.\nhint: did you mean 'list'?\n",
    )


def test_a_group_without_a_command_shows_its_help() -> None:
    code, out, err = mar()
    assert (code, out) == (2, "")
    assert err.startswith("Usage: mar [OPTIONS] COMMAND [ARGS]...\n")
    assert "\nCommands:\n  validate " in err


def test_a_mistyped_option_gets_the_closest_one() -> None:
    assert mar("validate", "--selct", "x") == (
        2,
        "",
        "mar: error: no such option: --selct.\nhint: did you mean '--select'?\n",
    )


def test_clicks_usage_errors_read_like_ours() -> None:
    assert mar("validate", "missing.mar") == (
        2,
        "",
        "mar: error: invalid value for '[PATHS]...': Path 'missing.mar' does not exist.\n"
        "hint: see 'mar validate --help'.\n",
    )
    assert mar("run") == (
        2,
        "",
        "mar: error: missing argument 'ARCHIVE'.\nhint: see 'mar run --help'.\n",
    )


HANDLER = (
    "def handle(data, context):\n"
    "    return data and [bytes(row.get('body') or row.get('data')) for row in data]\n"
)


def _archive(tmp_path: Path) -> Path:
    path = tmp_path / "m.mar"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MAR-INF/MANIFEST.json", manifest("h.py"))
        archive.writestr("h.py", HANDLER)
    return path


def test_unknown_check_codes_are_refused_with_the_closest(tmp_path: Path) -> None:
    archive = str(_archive(tmp_path))
    assert mar("validate", archive, "--select", "manifest.shema") == (
        2,
        "",
        "mar: error: --select manifest.shema: no check has this code.\n"
        "hint: did you mean 'manifest.schema'?\n",
    )
    assert mar("validate", archive, "--ignore", "pickle,zzz") == (
        2,
        "",
        "mar: error: --ignore zzz: no check has this code.\n"
        "hint: codes start with archive, config, entry, handler, imports, limits, manifest, "
        "model, path, pickle, requirements, zip; mar validate --list-checks lists them.\n",
    )
    # Prefixes of real codes are codes.
    assert mar("validate", archive, "--ignore", "pickle,manifest.created")[0] == 0


def test_a_zip_of_the_models_folder_is_recognised_by_validate(tmp_path: Path) -> None:
    path = tmp_path / "zipped.mar"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("folder/MAR-INF/MANIFEST.json", manifest("h.py"))
        archive.writestr("folder/h.py", "def handle(data, context):\n    return data\n")
    code, out, err = mar("validate", str(path))
    assert (code, err) == (1, "")
    assert out == (
        f"{path} (zip): invalid (1 error)\n"
        "  error[manifest.missing] MAR-INF/MANIFEST.json is not at the top of the archive but "
        "under 'folder/': the zip was made from the model's folder instead of its contents.\n"
        "    hint: zip the folder's contents (cd folder && zip -r ../model.mar .), or build "
        "the archive with torch-model-archiver.\n"
        "\n"
        "1 archive checked: 0 valid, 1 invalid (1 error).\n"
    )


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_every_command_takes_the_output_options(name: str) -> None:
    command = importlib.import_module(SUBCOMMANDS[name]).command
    _add_output_options(command)
    commands = [command]
    if isinstance(command, click.Group):
        commands += list(command.commands.values())
    for each in commands:
        names = {option for param in each.params for option in param.opts}
        assert {"-q", "--quiet", "-v", "--verbose", "--color"} <= names, each.name


def test_color_always_and_never_override_the_environment(tmp_path: Path) -> None:
    plain = "mar: error: no such command 'vaildate'.\nhint: did you mean 'validate'?\n"
    code, _, err = mar("--color", "always", "vaildate")
    assert code == 2 and err != plain and "\x1b[" in err
    assert err.replace("\x1b[1;31m", "").replace("\x1b[2m", "").replace("\x1b[0m", "") == plain
    forced = mar("--color", "never", "vaildate", env={"FORCE_COLOR": "1"})
    assert forced == (2, "", plain)


def test_verbose_and_quiet_on_mar_run(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    cache = tmp_path / "cache"
    env = {"MAR_CACHE_DIR": str(cache)}
    code, out, err = mar("-v", "run", str(archive), "--data", "x", env=env)
    assert (code, out) == (0, "x")
    lines = err.splitlines()
    assert lines[0].startswith(f"mar: {archive}: model files in {cache}")
    assert lines[1] == f"mar: interpreter: {sys.executable}"
    assert lines[2] == "mar: handler: function h.handle; batch size 1; device cpu"
    assert lines[3].startswith("mar: model ready in ")
    assert len(lines) == 4
    # The last of -q and -v wins, wherever each is given.
    assert mar("-v", "run", str(archive), "-q", env=env) == (0, "", "")
