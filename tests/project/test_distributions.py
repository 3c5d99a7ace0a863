"""The sdist and the wheel as published: what they carry, what the wheel's metadata says, and
the test suite's fast part run from the unpacked sdist."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

from mar_tools import __version__
from tests.project.conftest import ROOT, Distributions, run_process

#: What the sdist must hold besides the packages: the suite, its data and the docs site.
SDIST_ROOTS = (
    "torch_model_archiver",
    "mar_tools",
    "schemas",
    "tests",
    "examples",
    "docs",
    "benchmarks",
    "dev",
    "mkdocs.yml",
    "action.yml",
    ".pre-commit-hooks.yaml",
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
    "pyproject.toml",
)
#: The suite's fast part, run from the sdist: the tests that need examples/, docs/ and
#: schemas/ beside the code, and the archiver's command line.
SDIST_SUITE = (
    "tests/archiver/test_examples.py",
    "tests/archiver/test_cli.py",
    "tests/validate/test_docs.py",
)


def metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"mar_tools-{__version__}.dist-info/METADATA").decode()
    return Parser().parsestr(text)


def tracked_files(*roots: str) -> list[str]:
    """Files git tracks under *roots* (the checkout's truth; skips outside a git checkout)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        ["git", "ls-files", "-z", "--", *roots],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return sorted(name for name in done.stdout.decode().split("\0") if name)


def test_the_wheel_carries_the_license(dists: Distributions) -> None:
    with zipfile.ZipFile(dists.wheel) as archive:
        license_text = archive.read(f"mar_tools-{__version__}.dist-info/licenses/LICENSE")
    assert license_text == (ROOT / "LICENSE").read_bytes()
    assert b"Apache License\n                           Version 2.0, January 2004" in license_text
    meta = metadata(dists.wheel)
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]


def test_the_wheel_metadata_has_classifiers_and_urls(dists: Distributions) -> None:
    meta = metadata(dists.wheel)
    classifiers = meta.get_all("Classifier") or []
    versions = [
        c.rsplit(" ", 1)[1]
        for c in classifiers
        if c.startswith("Programming Language :: Python :: 3.")
    ]
    assert versions == ["3.10", "3.11", "3.12", "3.13"]
    assert meta["Requires-Python"] == ">=3.10"
    assert {"Operating System :: POSIX :: Linux", "Operating System :: MacOS"} <= set(classifiers)
    assert not [c for c in classifiers if c.startswith("License ::")], "PEP 639: the expression"
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL") or [])
    assert urls == {
        "Homepage": "https://github.com/mar-tools/mar-tools",
        "Documentation": "https://mar-tools.github.io/mar-tools/",
        "Changelog": "https://github.com/mar-tools/mar-tools/blob/main/CHANGELOG.md",
        "Issues": "https://github.com/mar-tools/mar-tools/issues",
        "Source": "https://github.com/mar-tools/mar-tools",
    }


def test_the_wheel_publishes_the_user_extras_only(dists: Distributions) -> None:
    meta = metadata(dists.wheel)
    assert sorted(meta.get_all("Provides-Extra") or []) == ["fast", "ray", "run", "serve"]
    requires = meta.get_all("Requires-Dist") or []
    run = sorted(r.split(";")[0] for r in requires if r.endswith("extra == 'run'"))
    assert run == ["numpy", "pillow>=9", "torch>=2.0"]
    assert "packaging>=22" in requires, "a base dependency, so not repeated in [run]"
    assert not [r for r in requires if "pytest" in r or "mypy" in r or "extra == 'dev'" in r]


def test_the_wheel_carries_the_schemas_and_type_markers(dists: Distributions) -> None:
    with zipfile.ZipFile(dists.wheel) as archive:
        names = set(archive.namelist())
        for schema in sorted((ROOT / "schemas").glob("*.json")):
            assert archive.read(f"mar_tools/schemas/{schema.name}") == schema.read_bytes()
    assert {"mar_tools/py.typed", "torch_model_archiver/py.typed"} <= names
    assert not [name for name in names if name.startswith(("tests/", "docs/", "examples/"))]


def test_the_sdist_carries_every_tracked_file_the_suite_and_docs_need(
    dists: Distributions,
) -> None:
    with tarfile.open(dists.sdist) as archive:
        prefix = f"mar_tools-{__version__}/"
        names = {member.name.removeprefix(prefix) for member in archive.getmembers()}
    wanted = [name for name in tracked_files(*SDIST_ROOTS) if (ROOT / name).is_file()]
    assert "examples/eager_classifier/handler.py" in wanted
    assert sorted(set(wanted) - names) == []
    assert not [n for n in names if "__pycache__" in n or n.startswith((".venv", "examples/build"))]


@pytest.mark.slow
def test_the_fast_suite_passes_from_the_unpacked_sdist(
    dists: Distributions, tmp_path: Path
) -> None:
    with tarfile.open(dists.sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    source = tmp_path / f"mar_tools-{__version__}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.update(MAR_CACHE_DIR=str(tmp_path / "cache"), PYTHONDONTWRITEBYTECODE="1")
    # `python -m pytest` puts the current directory first on sys.path: the sdist's packages
    # and tests, not the checkout's (checked, not assumed).
    imports = "import mar_tools, tests, torch_model_archiver as t; "
    imports += "print(mar_tools.__file__, tests.__file__, t.__file__, sep='\\n')"
    where = run_process([sys.executable, "-c", imports], source, env)
    assert where.returncode == 0, where.stderr
    assert all(Path(line).is_relative_to(source) for line in where.stdout.split()), where.stdout
    selection = ["-m", "not compat and not slow and not gpu", *SDIST_SUITE]
    done = run_process(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection], source, env
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
