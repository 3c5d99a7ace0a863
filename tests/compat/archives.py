"""Build a model with an archiver command line, in each archive format, and read archives back.

Both archivers get the same arguments and the same model name, so that their outputs can be
compared member by member. The model name carries the format (``probe-tgz``) so that all four
formats of a model can sit in one TorchServe model store and be registered side by side.
"""

from __future__ import annotations

import subprocess
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.compat.model_spec import FORMATS, Format, ModelSpec

__all__ = ["FORMATS", "Archive", "BuildError", "Builds", "Format", "archive_of", "build"]
MANIFEST = "MAR-INF/MANIFEST.json"
_SHORT: Mapping[Format, str] = {
    "default": "zip",
    "zip-store": "store",
    "tgz": "tgz",
    "no-archive": "dir",
}
_SUFFIX: Mapping[Format, str] = {
    "default": ".mar",
    "zip-store": ".mar",
    "tgz": ".tar.gz",
    "no-archive": "",
}


class BuildError(AssertionError):
    """An archiver exited non-zero; the message holds its command line and output."""


#: (model name, format) -> the archive, or the error that prevented it.
Builds = Mapping[tuple[str, Format], "Archive | BuildError"]


@dataclass(frozen=True)
class Archive:
    """One built archive: which model, which format, its model name and where it is."""

    spec: ModelSpec
    fmt: Format
    path: Path

    @property
    def model_name(self) -> str:
        """The ``--model-name`` it was built with (TorchServe registers it under this)."""
        return archive_name(self.spec, self.fmt)

    @property
    def url(self) -> str:
        """Registration URL relative to the model store it was built into."""
        return self.path.name


def archive_name(spec: ModelSpec, fmt: Format) -> str:
    """Model name of *spec* built in *fmt*: ``<model>-<zip|store|tgz|dir>``."""
    return f"{spec.name}-{_SHORT[fmt]}"


def build(
    archiver: Sequence[str], spec: ModelSpec, source: Path, fmt: Format, export: Path
) -> Archive:
    """Run *archiver* in *source* to build *spec* in *fmt* into *export*.

    Raises :class:`BuildError` (with the archiver's output) when it fails or writes nothing
    where upstream 0.12 would.
    """
    name = archive_name(spec, fmt)
    argv = [
        *archiver,
        "--model-name",
        name,
        *spec.args,
        "--archive-format",
        fmt,
        "--export-path",
        str(export),
        "--force",
    ]
    done = subprocess.run(argv, cwd=source, capture_output=True, text=True, check=False)
    path = export / f"{name}{_SUFFIX[fmt]}"
    if done.returncode != 0 or not path.exists():
        raise BuildError(
            f"{' '.join(argv)} (in {source}) exited {done.returncode}"
            f"{'' if path.exists() else f' without writing {path}'}:\n"
            f"{done.stdout}{done.stderr}"
        )
    return Archive(spec, fmt, path)


def read_members(archive: Archive) -> dict[str, bytes]:
    """Every file in *archive* as {name inside the model directory: bytes}.

    For tgz the leading ``<model-name>/`` is removed (TorchServe strips it on extraction);
    a member outside it, or anything but a regular file, raises ``AssertionError``.
    """
    if archive.fmt in ("default", "zip-store"):
        with zipfile.ZipFile(archive.path) as bundle:
            return {info.filename: bundle.read(info) for info in bundle.infolist()}
    if archive.fmt == "tgz":
        members: dict[str, bytes] = {}
        prefix = archive.model_name + "/"
        with tarfile.open(archive.path, "r:gz") as bundle:
            for info in bundle.getmembers():
                assert info.isfile(), f"{archive.path}: {info.name} is not a regular file"
                assert info.name.startswith(prefix), f"{archive.path}: {info.name} not in {prefix}"
                handle = bundle.extractfile(info)
                assert handle is not None
                members[info.name[len(prefix) :]] = handle.read()
        return members
    return {
        path.relative_to(archive.path).as_posix(): path.read_bytes()
        for path in sorted(archive.path.rglob("*"))
        if path.is_file()
    }


def member_order(archive: Archive) -> list[str]:
    """Member names in the order they are stored (zip and tgz; sorted for a directory)."""
    if archive.fmt in ("default", "zip-store"):
        with zipfile.ZipFile(archive.path) as bundle:
            return bundle.namelist()
    if archive.fmt == "tgz":
        with tarfile.open(archive.path, "r:gz") as bundle:
            return [name.split("/", 1)[1] for name in bundle.getnames()]
    return sorted(read_members(archive))


def archive_of(builds: Builds, model: str, fmt: Format) -> Archive:
    """The archive built for (*model*, *fmt*), failing the test with the build's error."""
    result = builds[(model, fmt)]
    if isinstance(result, BuildError):
        pytest.fail(str(result), pytrace=False)
    return result
