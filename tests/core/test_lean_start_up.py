"""The two commands people run in loops start without the standard library's heavy modules.

``mar validate`` of a small archive and a ``torch-model-archiver`` build (large enough to be
copied by the kernel with its CRC on a worker thread) run as real processes; neither may
import ``dataclasses`` (records come from ``core.record``), ``inspect``, or, for the build,
``concurrent.futures`` and its ``logging`` (the writers' pool is ``pipeline.Pool``); nor
may ``mar validate`` of a zip import what only a tar.gz, a large entry or a requirements
option needs (``tarfile``, ``gzip``, the read-ahead worker's ``queue``, ``shlex``). Each of
these cost milliseconds of every start (issue 15: start-up).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

#: Runs a console script's entry point, then prints which watched modules it imported.
PROBE = (
    "import sys\n"
    "entry = sys.argv.pop(1)\n"
    "module, _, name = entry.partition(':')\n"
    "code = 0\n"
    "try:\n"
    "    code = getattr(__import__(module, fromlist=[name]), name)(sys.argv[1:])\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "watched = {watched!r}\n"
    "sys.stderr.write('\\nexit %s imported %s' % (code, sorted(set(watched) & set(sys.modules))))\n"
)
HEAVY = ("dataclasses", "inspect", "concurrent.futures", "logging")
#: What a zip's validation does without, besides :data:`HEAVY`.
NOT_FOR_A_ZIP = (*HEAVY, "tarfile", "gzip", "queue", "heapq", "shlex", "copy")


def _imports(
    entry: str, argv: list[str], cwd: Path, watched: tuple[str, ...] = HEAVY
) -> tuple[str, list[str]]:
    """Run *entry* (``module:function``) on *argv*; return (exit code, the *watched* modules
    it imported)."""
    env = {k: v for k, v in os.environ.items() if k != "MAR_CLICK_ONLY"}  # the lean path
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(watched=watched), entry, *argv],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    last = result.stderr.rstrip().rsplit("\n", 1)[-1]
    _, code, _, names = last.split(" ", 3)
    return code, ast.literal_eval(names)


def test_validating_a_small_archive_imports_no_dataclasses(tmp_path: Path) -> None:
    archive = tmp_path / "small.mar"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(
            "MAR-INF/MANIFEST.json",
            '{"createdOn": "01/01/2025 00:00:00", "runtime": "python", "model": {"modelName":'
            ' "m", "handler": "handler.py", "modelVersion": "1.0"}, "archiverVersion": "0.12.0"}',
        )
        # Longer than a tar header: sniffed for one without importing tarfile.
        out.writestr("handler.py", "def handle(data, context):\n    return data\n#" + "x" * 600)
        out.writestr("requirements.txt", "numpy==1.26.4\n")
    argv = ["validate", str(archive)]
    code, heavy = _imports("mar_tools.cli:main", argv, tmp_path, NOT_FOR_A_ZIP)
    # (A manifest the schema rejects loads jsonschema, and with it all of these: fine for
    # a finding; a clean archive does not.)
    assert (code, heavy) == ("0", [])


@pytest.mark.parametrize("archive_format", ["default", "zip-store", "tgz"])
def test_a_build_imports_no_dataclasses_nor_concurrent_futures(
    tmp_path: Path, archive_format: str
) -> None:
    (tmp_path / "handler.py").write_text("def handle(data, context):\n    return data\n")
    # Large enough to be copied by the kernel (stored) or compressed on the pool (deflated).
    (tmp_path / "weights.bin").write_bytes(os.urandom(20 << 20))
    argv = [
        "--model-name", "m", "--handler", "handler.py", "-v", "1.0", "-q",
        "--serialized-file", "weights.bin", "--export-path", "out",
        "--archive-format", archive_format,
    ]  # fmt: skip
    (tmp_path / "out").mkdir()
    code, heavy = _imports("torch_model_archiver.cli:main", argv, tmp_path)
    assert (code, heavy) == ("0", [])
    built = next((tmp_path / "out").iterdir())
    assert built.stat().st_size > 20 << 20


@pytest.mark.parametrize("archive_format", ["default", "zip-store", "tgz", "no-archive"])
def test_a_build_loads_ctypes_only_to_compress_large_entries(
    tmp_path: Path, archive_format: str
) -> None:
    """The allocator is tuned (through ctypes, ~3 ms) only once MiB-sized chunks are to be
    compressed; ``--force`` onto a new output publishes with a plain rename (``renameat2``,
    which needs ctypes, is for refusing to replace)."""
    (tmp_path / "handler.py").write_text("def handle(data, context):\n    return data\n")
    (tmp_path / "random.bin").write_bytes(os.urandom(3 << 20))  # stored in a zip
    (tmp_path / "zeros.bin").write_bytes(bytes(3 << 20))  # deflated in 1 MiB chunks
    # (tgz compresses the whole tar stream in chunks, whatever its entries hold.)
    expected = {
        "random.bin": ["ctypes"] if archive_format == "tgz" else [],
        "zeros.bin": ["ctypes"] if archive_format in ("default", "tgz") else [],
    }
    for weights, ctypes in expected.items():
        argv = [
            "--model-name", weights[:-4], "--handler", "handler.py", "-v", "1.0", "-q",
            "--serialized-file", weights, "--export-path", "out", "--force",
            "--archive-format", archive_format,
        ]  # fmt: skip
        code, loaded = _imports("torch_model_archiver.cli:main", argv, tmp_path, ("ctypes",))
        assert (weights, code, loaded) == (weights, "0", ctypes)
