"""The requirements reader finds the files pip will read, as pip resolves them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mar_tools.core.model_files import ModelFiles
from mar_tools.core.requirements import (
    LocalReference,
    NamedRequirement,
    file_options,
    local_path,
    logical_lines,
    read_requirements,
)


def write(root: Path, files: dict[str, str]) -> ModelFiles:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return ModelFiles.directory(root)


def test_logical_lines_join_continuations_strip_comments_and_never_expand_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WHEELS", "vendor")  # pip would expand it; mar never does
    text = (
        "# a comment line\n"
        "\n"
        "numpy>=1 \\\n"
        "  ; python_version >= '3'  # trailing comment\n"
        "./${WHEELS}/a.whl\n"
        "url#fragment-is-not-a-comment\n"
        "${UNSET_VARIABLE_FOR_TEST}\n"
    )
    assert list(logical_lines(text)) == [
        (3, "numpy>=1   ; python_version >= '3'"),
        (5, "./${WHEELS}/a.whl"),
        (6, "url#fragment-is-not-a-comment"),
        (7, "${UNSET_VARIABLE_FOR_TEST}"),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("-r other.txt", [("requirements", "other.txt")]),
        ("--requirement=other.txt", [("requirements", "other.txt")]),
        ("-rother.txt", [("requirements", "other.txt")]),
        ("-c pins.txt", [("constraints", "pins.txt")]),
        ("--find-links ./wheels", [("find-links", "./wheels")]),
        ("-e ./pkg", [("editable", "./pkg")]),
        ("--index-url https://example.invalid/simple", []),
        ("--pre --no-binary :all:", []),
    ],
)
def test_file_options(line: str, expected: list[tuple[str, str]]) -> None:
    assert list(file_options(line)) == expected


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        ("numpy>=1.0", None),
        ("Pillow[extra]==9; python_version > '3'", None),
        ("./wheels/a-1.0-py3-none-any.whl", "./wheels/a-1.0-py3-none-any.whl"),
        ("a-1.0-py3-none-any.whl", "a-1.0-py3-none-any.whl"),
        ("pkg-1.0.tar.gz", "pkg-1.0.tar.gz"),
        ("./src/pkg[cli] ; sys_platform == 'linux'", "./src/pkg"),
        ("/abs/dir", "/abs/dir"),
        ("file:///opt/w/a-1.0-py3-none-any.whl", "/opt/w/a-1.0-py3-none-any.whl"),
        ("a @ file:///opt/w/a%20b.whl", "/opt/w/a b.whl"),
        ("a @ https://example.invalid/a.whl", None),
        ("git+https://example.invalid/repo.git#egg=a", None),
    ],
)
def test_local_path(requirement: str, expected: str | None) -> None:
    assert local_path(requirement) == expected


def test_read_requirements_follows_nested_files_and_finds_local_references(tmp_path: Path) -> None:
    files = write(
        tmp_path,
        {
            "requirements.txt": (
                "numpy>=1  --hash=sha256:00\n"
                "-r extra/more.txt\n"
                "-c pins.txt\n"
                "./wheels/a-1.0-py3-none-any.whl\n"
                "./missing-2.0-py3-none-any.whl\n"
                "-e ./src\n"
                "--find-links links\n"
                "-r requirements.txt\n"
            ),
            "extra/more.txt": "torch>=2.0\n-r deeper.txt\n./wheels/b-1.0.tar.gz\n",
            "extra/deeper.txt": "pyyaml\n",
            "pins.txt": "torch<3\n",
            "wheels/a-1.0-py3-none-any.whl": "a",
            "wheels/b-1.0.tar.gz": "b",
            "src/setup.py": "",
            "links/c-1.0-py3-none-any.whl": "c",
        },
    )

    parsed = read_requirements(files, "requirements.txt")

    assert parsed.references == (
        LocalReference("requirements.txt", "file", "requirements", "requirements.txt", 0),
        LocalReference("extra/more.txt", "file", "requirements", "requirements.txt", 2),
        LocalReference("extra/deeper.txt", "file", "requirements", "extra/more.txt", 2),
        LocalReference("wheels/b-1.0.tar.gz", "file", "package", "extra/more.txt", 3),
        LocalReference("pins.txt", "file", "constraints", "requirements.txt", 3),
        LocalReference("wheels/a-1.0-py3-none-any.whl", "file", "package", "requirements.txt", 4),
        LocalReference("missing-2.0-py3-none-any.whl", None, "package", "requirements.txt", 5),
        LocalReference("src", "dir", "editable", "requirements.txt", 6),
        LocalReference("links", "dir", "find-links", "requirements.txt", 7),
    )
    assert parsed.named == (
        NamedRequirement("numpy>=1", "requirements.txt", 1),
        NamedRequirement("torch>=2.0", "extra/more.txt", 1),
        NamedRequirement("pyyaml", "extra/deeper.txt", 1),
        NamedRequirement("torch<3", "pins.txt", 1, constraint=True),
    )


def test_a_missing_nested_file_is_recorded_not_fatal(tmp_path: Path) -> None:
    files = write(tmp_path, {"requirements.txt": "-r nope.txt\nrequests\n"})

    parsed = read_requirements(files, "requirements.txt")

    assert [(r.name, r.kind) for r in parsed.references] == [
        ("requirements.txt", "file"),
        ("nope.txt", None),
    ]
    assert [n.text for n in parsed.named] == ["requests"]


def test_logical_lines_follow_pip_on_comments_ending_a_continuation_and_a_last_line() -> None:
    """pip joins a comment line to a continuation as a comment (it prefixes a space), and
    reads the last line even when it ends with a continuation."""
    text = "numpy>=1\\\n# why numpy\nrequests\n./wheels/a.whl \\"

    assert list(logical_lines(text)) == [(1, "numpy>=1"), (3, "requests"), (4, "./wheels/a.whl")]


def test_requirements_by_url_or_path_are_kept_for_the_torch_check(tmp_path: Path) -> None:
    files = write(
        tmp_path,
        {
            "requirements.txt": (
                "torch @ https://example.invalid/torch-2.99.0-cp311-none-any.whl\n"
                "./torch-2.99.0-py3-none-any.whl --hash=sha256:00\n"
                "https://example.invalid/other-1.0-py3-none-any.whl\n"
                "numpy>=1\n"
            ),
        },
    )

    parsed = read_requirements(files, "requirements.txt")

    assert parsed.named == (NamedRequirement("numpy>=1", "requirements.txt", 4),)
    assert parsed.direct == (
        NamedRequirement(
            "torch @ https://example.invalid/torch-2.99.0-cp311-none-any.whl",
            "requirements.txt",
            1,
        ),
        NamedRequirement("./torch-2.99.0-py3-none-any.whl", "requirements.txt", 2),
        NamedRequirement(
            "https://example.invalid/other-1.0-py3-none-any.whl", "requirements.txt", 3
        ),
    )


def test_options_variables_and_outside_paths_are_recorded_and_never_looked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN", "s3cret")
    monkeypatch.setenv("HOME_REQS", str(tmp_path / "host"))
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "secret.txt").write_text("private-package\n")
    files = write(
        tmp_path / "model",
        {
            "requirements.txt": (
                "--index-url https://host.example/${TOKEN}/simple\n"
                "-r ${HOME_REQS}/secret.txt\n"
                f"-r {tmp_path / 'host' / 'secret.txt'}\n"
                "-f /usr\n"
                "-f ./wheels\n"
                "-ihttps://other.example/simple --trusted-host other.example\n"
                "-c nested.txt\n"
            ),
            "nested.txt": "--extra-index-url=https://third.example/simple\n../up.whl\n",
            "wheels/a-1.0-py3-none-any.whl": "",
        },
    )

    parsed = read_requirements(files, "requirements.txt")

    assert [(o.option, o.value, o.file, o.line) for o in parsed.options] == [
        ("--index-url", "https://host.example/${TOKEN}/simple", "requirements.txt", 1),
        ("--index-url", "https://other.example/simple", "requirements.txt", 6),
        ("--trusted-host", "other.example", "requirements.txt", 6),
        ("--extra-index-url", "https://third.example/simple", "nested.txt", 1),
    ]
    assert [(v.name, v.line) for v in parsed.variables] == [("${TOKEN}", 1), ("${HOME_REQS}", 2)]
    outside = [(r.name, r.kind) for r in parsed.references if r.outside]
    assert outside == [
        (str(tmp_path / "host" / "secret.txt"), None),  # exists on this machine: not read
        ("/usr", None),
        ("../up.whl", None),
    ]
    assert ("wheels", "dir") in [(r.name, r.kind) for r in parsed.references]
    # The unexpanded reference is a (missing) path inside the model, never the host's file.
    assert ("${HOME_REQS}/secret.txt", None) in [(r.name, r.kind) for r in parsed.references]
    assert "private-package" not in {n.text for n in parsed.named}


def test_model_files_never_read_outside_the_model(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("host file")
    files = write(tmp_path / "model", {"inside.txt": "x"})
    for name in (str(tmp_path / "secret.txt"), "../secret.txt", "/etc", "/"):
        assert files.kind(name) is None
        assert list(files.walk(name)) == []
        with pytest.raises(FileNotFoundError):
            files.open(name)
    assert files.kind("inside.txt") == "file"
