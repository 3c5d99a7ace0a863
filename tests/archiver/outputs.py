"""Helpers for the archiver tests: run the command line in-process with captured output, and
read any output format back as ``{name: bytes}`` so formats can be compared.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from torch_model_archiver.cli import run

ROOT = Path(__file__).resolve().parents[2]
JAVA_SOURCE = Path(__file__).parent / "java" / "MarReader.java"
MANIFEST = "MAR-INF/MANIFEST.json"


@dataclass(frozen=True)
class CliOutcome:
    code: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str], env: Mapping[str, str | None] | None = None) -> CliOutcome:
    """Run ``torch-model-archiver`` in this process; plain output, no SOURCE_DATE_EPOCH."""
    runner = CliRunner()
    environment: dict[str, str | None] = {"NO_COLOR": "1", "SOURCE_DATE_EPOCH": None}
    environment.update(env or {})
    with runner.isolation(env=environment) as (out, err, _):
        code = run(list(args))
    return CliOutcome(code, out.getvalue().decode(), err.getvalue().decode())


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def zip_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def tgz_entries(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as archive:
        out = {}
        for member in archive.getmembers():
            stream = archive.extractfile(member)
            assert stream is not None, f"{member.name} is not a regular file"
            out[member.name] = stream.read()
        return out


def dir_entries(path: Path) -> dict[str, bytes]:
    return {
        file.relative_to(path).as_posix(): file.read_bytes()
        for file in sorted(path.rglob("*"))
        if file.is_file()
    }


def entries(path: Path) -> dict[str, bytes]:
    """Any output format as ``{name: bytes}``; tgz names lose their ``<model>/`` prefix."""
    if path.is_dir():
        return dir_entries(path)
    if path.name.endswith(".tar.gz"):
        return {name.split("/", 1)[1]: data for name, data in tgz_entries(path).items()}
    return zip_entries(path)


def names_in_order(path: Path) -> list[str]:
    """Entry names in the order they are stored."""
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path, "r:gz") as archive:
            return archive.getnames()
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def read_with_java(reader: list[str], archive: Path) -> list[tuple[str, int, str, str]]:
    """(name, size, crc computed, method) per entry as ``ZipInputStream`` reads *archive*."""
    done = subprocess.run([*reader, str(archive)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = []
    for line in done.stdout.splitlines():
        name, size, crc, declared, method = line.split("\t")
        assert crc == declared, f"{name}: CRC read {crc} != declared {declared}"
        rows.append((name, int(size), crc, method))
    return rows


def manifest_of(path: Path) -> str:
    return entries(path)[MANIFEST].decode()


def archive_bytes(path: Path) -> bytes:
    """The bytes of an output (a directory: names, modes, mtimes and contents)."""
    if not path.is_dir():
        return path.read_bytes()
    buffer = io.BytesIO()
    for file in sorted(path.rglob("*")):
        info = file.stat()
        buffer.write(f"{file.relative_to(path)}|{oct(info.st_mode)}|{info.st_mtime}\n".encode())
        if file.is_file():
            buffer.write(file.read_bytes())
    return buffer.getvalue()
