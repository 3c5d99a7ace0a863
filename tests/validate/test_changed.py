"""``mar validate --changed-files``: from the files a commit touches to the archives to check
(``mar_tools.validate.changed``), then the whole command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mar_tools.cli import cli
from mar_tools.validate.changed import archives_of_changed
from tests.validate.builders import members, write_dir, write_tgz, write_zip

ENV = {"NO_COLOR": "1", "COLUMNS": "100"}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weights: bytes) -> Path:
    """A repository with a .mar, a .tar.gz, two model directories (one nested in a plain
    directory, one holding a sub-directory) and unrelated files; the current directory."""
    (tmp_path / "store").mkdir()
    write_zip(tmp_path / "store" / "a.mar", members(weights))
    write_tgz(tmp_path / "store" / "b.tar.gz", members(weights))
    write_dir(tmp_path / "models" / "m1", {**members(weights), "assets/vocab.txt": b"x\n"})
    write_dir(tmp_path / "m2", members(weights))
    write_dir(tmp_path, {"README.md": b"# r\n", "models/notes.txt": b"n\n", "x.mar.txt": b""})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def changed(*names: str) -> list[Path]:
    return archives_of_changed(Path(name) for name in names)


def test_archives_are_themselves_and_other_files_stand_for_their_model_directory(
    repo: Path,
) -> None:
    assert changed(
        "README.md",
        "models/m1/assets/vocab.txt",
        "store/b.tar.gz",
        "models/m1/handler.py",
        "m2/MAR-INF/MANIFEST.json",
        "store/a.mar",
        "models/notes.txt",
        "x.mar.txt",
    ) == [Path("models/m1"), Path("store/b.tar.gz"), Path("m2"), Path("store/a.mar")]


def test_a_model_directory_given_itself_is_checked(repo: Path) -> None:
    assert changed("models/m1", "models") == [Path("models/m1")]


def test_absolute_paths_and_a_model_directory_at_the_top(repo: Path, weights: bytes) -> None:
    assert changed(str(repo / "models" / "m1" / "model.py")) == [repo / "models" / "m1"]
    write_dir(repo, members(weights))
    assert changed("README.md", "models/notes.txt", "models/m1/model.py") == [
        Path(),
        Path("models/m1"),
    ]


def test_nothing_to_check(repo: Path) -> None:
    assert changed() == changed("README.md", "models/notes.txt") == []


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args], env=ENV)
    return result.exit_code, result.stdout, result.stderr


def test_the_command_checks_what_the_changed_files_belong_to(repo: Path, weights: bytes) -> None:
    (repo / "m2" / "handler.py").write_text("def handle(data, context)\n")
    code, out, err = invoke(
        "--changed-files", "--select", "handler", "README.md", "m2/handler.py", "store/a.mar"
    )
    assert (code, err) == (1, "")
    assert out == (
        "m2 (directory): invalid (1 error)\n"
        "  error[handler.syntax-error] handler.py:1:26: expected ':'.\n"
        "    hint: Fix the syntax error at the given line.\n"
        "\n"
        "store/a.mar (zip): valid\n"
        "\n"
        "2 archives checked: 1 valid, 1 invalid (1 error).\n"
    )


def test_no_archive_among_the_changed_files_passes(repo: Path) -> None:
    assert invoke("--changed-files", "README.md", "models/notes.txt") == (
        0,
        "0 archives checked: 0 valid, 0 invalid.\n",
        "",
    )
    # Without --changed-files, PATHS are archives and at least one is needed.
    assert invoke()[0] == 2
