"""The cache key changes exactly when the environment's content would."""

from __future__ import annotations

import dataclasses
import tarfile
import zipfile
from pathlib import Path

import pytest

from mar_tools.core.archive import open_archive
from mar_tools.core.model_files import ModelFiles
from mar_tools.core.requirements import read_requirements
from mar_tools.env.host import Host
from mar_tools.env.key import EnvKey, compute_key

HOST = Host(
    base_python=Path("/usr/bin/python3.11"),
    version="3.11.7 (main) [GCC]",
    platform="linux-x86_64",
    cache_tag="cpython-311",
    site_dirs=(Path("/venv/lib/python3.11/site-packages"),),
    torch_version="2.13.0+cpu",
)
FILES = {
    "requirements.txt": "-r nested.txt\n./wheels/a-1.0-py3-none-any.whl\n-e ./pkg\n",
    "nested.txt": "pyyaml>=6\n",
    "wheels/a-1.0-py3-none-any.whl": "wheel bytes",
    "pkg/pyproject.toml": "[project]\nname='pkg'\n",
    "pkg/pkg/__init__.py": "",
    "handler.py": "def handle(d, c): return d\n",
}


def model_dir(root: Path, files: dict[str, str] = FILES) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def key_of(files: ModelFiles, host: Host = HOST) -> EnvKey:
    return compute_key(host, read_requirements(files, "requirements.txt"), files)


def test_the_key_is_the_same_from_a_directory_a_zip_and_a_tgz(tmp_path: Path) -> None:
    root = model_dir(tmp_path / "model")
    with zipfile.ZipFile(tmp_path / "m.mar", "w") as archive:
        for name in FILES:
            archive.write(root / name, name)
    with tarfile.open(tmp_path / "m.tar.gz", "w:gz") as archive:
        for name in FILES:
            archive.add(root / name, f"m/{name}")

    from_dir = key_of(ModelFiles.directory(root))
    with open_archive(tmp_path / "m.mar") as view:
        from_zip = key_of(ModelFiles(view))
    with open_archive(tmp_path / "m.tar.gz") as view:
        from_tgz = key_of(ModelFiles(view))

    assert from_dir == from_zip == from_tgz
    assert len(from_dir.digest) == 64 and from_dir.short == from_dir.digest[:16]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("requirements.txt", FILES["requirements.txt"] + "\n"),  # the file's own bytes
        ("nested.txt", "pyyaml>=6.0.1\n"),  # a nested -r file
        ("wheels/a-1.0-py3-none-any.whl", "other wheel bytes"),  # a referenced wheel
        ("pkg/pkg/__init__.py", "X = 1\n"),  # a file inside a referenced directory
        ("pkg/pkg/extra.py", ""),  # a new file inside it
    ],
)
def test_changing_what_pip_reads_changes_the_key(tmp_path: Path, name: str, text: str) -> None:
    before = key_of(ModelFiles.directory(model_dir(tmp_path / "a")))
    changed = model_dir(tmp_path / "b", {**FILES, name: text})

    assert key_of(ModelFiles.directory(changed)) != before


def test_other_files_and_build_litter_do_not_change_the_key(tmp_path: Path) -> None:
    before = key_of(ModelFiles.directory(model_dir(tmp_path / "a")))
    litter = {
        "handler.py": "changed handler\n",
        "weights.pt": "new weights",
        "pkg/build/lib/pkg/__init__.py": "",
        "pkg/pkg.egg-info/PKG-INFO": "",
        "pkg/pkg/__pycache__/x.cpython-311.pyc": "",
    }
    after = model_dir(tmp_path / "b", {**FILES, **litter})

    assert key_of(ModelFiles.directory(after)) == before


@pytest.mark.parametrize(
    "change",
    [
        {"torch_version": "2.14.0"},
        {"torch_version": None},
        {"version": "3.11.8 (main) [GCC]"},
        {"platform": "macosx-14-arm64"},
        {"base_python": Path("/opt/python/bin/python3.11")},
        {"site_dirs": (Path("/other-venv/lib/python3.11/site-packages"),)},
    ],
)
def test_the_interpreter_and_the_inherited_packages_are_in_the_key(
    tmp_path: Path, change: dict[str, object]
) -> None:
    files = ModelFiles.directory(model_dir(tmp_path))

    other = dataclasses.replace(HOST, **change)  # type: ignore[arg-type]

    assert key_of(files, other) != key_of(files)


def test_an_environment_without_requirements_has_its_own_key(tmp_path: Path) -> None:
    files = ModelFiles.directory(model_dir(tmp_path))

    empty = compute_key(HOST, None, files)

    assert empty != key_of(files)
    assert empty == compute_key(HOST, None, ModelFiles.directory(tmp_path / "elsewhere"))
    assert empty.inputs["requirements"] is None and empty.inputs["format"] == 1
