"""Shell completion: ``mar completion SHELL`` prints click's script, and bash, really run,
completes subcommands, options and the check codes of ``mar validate --select/--ignore``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mar_tools.validate.catalog import CATALOG

MAR = Path(sys.executable).with_name("mar")


def _mar(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MAR), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **env},
        check=False,
        timeout=60,
    )


def _complete(*words: str) -> list[str]:
    """What ``mar`` answers when bash asks it to complete the last of *words*."""
    done = _mar(
        COMP_WORDS=" ".join(["mar", *words]),
        COMP_CWORD=str(len(words)),
        _MAR_COMPLETE="bash_complete",
    )
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout.splitlines()


@pytest.mark.parametrize(
    ("shell", "start"),
    [
        ("bash", "_mar_completion() {"),
        ("zsh", "#compdef mar"),
        ("fish", "function _mar_completion"),
    ],
)
def test_prints_the_script_of_each_shell(shell: str, start: str) -> None:
    done = _mar("completion", shell)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(start) and "_MAR_COMPLETE" in done.stdout
    # The same script click prints for the variable itself.
    direct = _mar(_MAR_COMPLETE=f"{shell}_source")
    assert done.stdout.rstrip("\n") == direct.stdout.rstrip("\n")


def test_an_unknown_shell_is_a_usage_error() -> None:
    done = _mar("completion", "tcsh")
    assert done.returncode == 2 and "'tcsh' is not one of 'bash', 'zsh', 'fish'" in done.stderr


def test_completes_check_codes_from_the_catalogue() -> None:
    zips = [info.code for info in CATALOG if info.code.startswith("zip.h")]
    assert zips and _complete("validate", "--select", "zip.h") == [f"plain,{c}" for c in zips]
    # Families, then every code, for an empty word.
    offered = [line.removeprefix("plain,") for line in _complete("validate", "--ignore", "")]
    assert "zip." in offered and "manifest." in offered
    assert offered[-len(CATALOG) :] == [info.code for info in CATALOG]
    # After a comma, the part before it is kept.
    assert _complete("validate", "--ignore", "zip.hidden-data,archive.u") == [
        "plain,zip.hidden-data,archive.unreadable"
    ]


def test_completes_subcommands_and_options() -> None:
    assert _complete("ca") == ["plain,cache"]
    assert _complete("cache", "") == [
        f"plain,{name}" for name in ("clean", "dir", "list", "prune", "size")
    ]
    assert _complete("completion", "") == ["plain,bash", "plain,zsh", "plain,fish"]
    assert "plain,--max-size" in _complete("cache", "prune", "--m")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_itself_completes_through_the_script(tmp_path: Path) -> None:
    """Source the printed script in a real bash and call its completion function as bash's
    programmable completion would (COMP_WORDS, COMP_CWORD), then read COMPREPLY."""
    script = tmp_path / "mar.bash"
    script.write_text(_mar("completion", "bash").stdout)
    driver = (
        f"source {script}\n"
        "COMP_WORDS=(mar validate --select manifest.sch)\n"
        "COMP_CWORD=3\n"
        "_mar_completion mar\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
        "complete -p mar\n"
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", driver],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{MAR.parent}{os.pathsep}{os.environ['PATH']}"},
        check=False,
        timeout=60,
    )
    codes = [info.code for info in CATALOG if info.code.startswith("manifest.sch")]
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [*codes, "complete -o nosort -F _mar_completion mar"]
