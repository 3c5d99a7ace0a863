"""Hostile archives and careless inputs, through real ``mar`` processes.

``mar run`` runs the structural checks of ``mar validate`` before it extracts anything, so
the two agree on what is fatal: each archive here is refused by ``mar run`` (exit 3, with
the problem named) and reported as an error by ``mar validate`` (exit 1, with the same
code's message). Bombs stop at a limit, naming the flag that raises it. A FIFO is refused
at once, an output that is an input is refused before any work, and every error is one
message with a documented exit code.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.core import hostile
from tests.run.support import published

MAR = Path(sys.executable).with_name("mar")
#: A FIFO or a bomb must be answered in far less; this only keeps a regression from hanging.
TIMEOUT = 60


def mar(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "300"}
    if cache is not None:
        env["MAR_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [str(MAR), *args], capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False
    )


def _validate_codes(path: Path) -> dict[str, str]:
    done = mar("validate", "--format", "json", str(path))
    assert done.returncode == 1, done.stderr
    findings = json.loads(done.stdout)["archives"][0]["findings"]
    return {item["code"]: item["message"] for item in findings if item["severity"] == "error"}


def _overflowing_stored_entry(path: Path) -> Path:
    """A STORED h.py whose sizes (local and central, alike) claim 100 bytes more than it has:
    reading it runs into the central directory (before, `cannot extract ().`)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MAR-INF/MANIFEST.json", hostile.MANIFEST)
        archive.writestr("h.py", hostile.HANDLER)
    data = bytearray(path.read_bytes())
    for signature, sizes_at, name_at in ((b"PK\x03\x04", 18, 30), (b"PK\x01\x02", 20, 46)):
        at = data.find(signature)
        while at >= 0:
            if data[at + name_at : at + name_at + 4] == b"h.py":
                for field in (sizes_at, sizes_at + 4):
                    value = struct.unpack_from("<I", data, at + field)[0]
                    struct.pack_into("<I", data, at + field, value + 100)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


# (builder, file name, code mar validate reports, what mar run's message says)
REFUSED: list[tuple[Callable[[Path], Path], str, str, str]] = [
    (hostile.zip_with_nul_name, "nul.mar", "path.invalid", "entry 'h.py\\\\x00.txt': NUL byte"),
    (hostile.zip_with_prefix, "prefix.mar", "zip.prefix-data", "17 bytes come before the first"),
    (hostile.lying_zip, "lying.mar", "entry.corrupt", "zeros.bin decompresses to more than"),
    (_overflowing_stored_entry, "overflow.mar", "zip.overlap", "h.py runs into the central"),
    (hostile.zip_with_file_and_dir, "clash.mar", "path.duplicate", "'lib' is both a file and"),
    (hostile.zip_bomb, "bomb.mar", "limits.ratio", "zeros.bin expands 1029:1"),
    (hostile.tgz_bomb, "bomb.tar.gz", "limits.ratio", "the archive expands 1025:1"),
    (hostile.sparse_tgz, "sparse.tar.gz", "limits.ratio", "the archive expands 41457214:1"),
]


@pytest.mark.parametrize(("build", "name", "code", "said"), REFUSED, ids=[r[1] for r in REFUSED])
def test_run_refuses_what_validate_calls_fatal(
    tmp_path: Path, build: Callable[[Path], Path], name: str, code: str, said: str
) -> None:
    archive = build(tmp_path / name)
    cache = tmp_path / "cache"

    done = mar("run", str(archive), "--data", "x", cache=cache)

    assert done.returncode == 3, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"mar: error: {archive}: ") and said in first, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    if code.startswith("limits."):
        flag = {"limits.ratio": "--max-ratio"}[code]
        assert done.stderr.splitlines()[1] == (
            f"hint: if the archive is trusted and really this large, raise the limit with "
            f"{flag} (or MAR_MAX_RATIO)."
        )
    assert code in _validate_codes(archive)
    # Nothing was published, and no bomb was written out: at most the small members.
    extracted = cache / "extracted" / "v2"
    assert not published(extracted)
    written = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert written < 4 * archive.stat().st_size + (1 << 20)


def test_raising_the_limit_lets_a_compressible_archive_run(tmp_path: Path) -> None:
    archive = hostile.zip_bomb(tmp_path / "zeros.mar", 8 << 20)
    cache = tmp_path / "cache"
    done = mar("run", str(archive), "--data", "x", "--max-ratio", "5000", cache=cache)
    assert (done.returncode, done.stdout) == (0, "1"), done.stderr
    env = {**os.environ, "MAR_MAX_RATIO": "5000", "MAR_CACHE_DIR": str(tmp_path / "c2")}
    by_env = subprocess.run(
        [str(MAR), "run", str(archive), "--data", "x"], capture_output=True, env=env, check=False
    )
    assert by_env.returncode == 0, by_env.stderr
    too_small = mar("run", str(archive), "--data", "x", "--max-size", "1M", cache=tmp_path / "c3")
    assert too_small.returncode == 3
    assert "the limit is 1.0 MiB" in too_small.stderr and "--max-size (or MAR_MAX_SIZE)" in (
        too_small.stderr
    )


@pytest.mark.parametrize("command", ["run", "validate", "env-path"])
def test_a_fifo_is_refused_at_once(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "model.mar"
    os.mkfifo(fifo)
    args = {"run": ["run", str(fifo), "--data", "x"], "validate": ["validate", str(fifo)]}
    done = mar(*args.get(command, ["env", "path", str(fifo)]), cache=tmp_path / "cache")
    message = f"{fifo}: a FIFO, not an archive file; give a .mar, a .tar.gz or a model directory."
    if command == "validate":
        assert done.returncode == 1
        assert f"error[archive.unreadable] {message}" in done.stdout
    else:
        assert (done.returncode, done.stderr) == (3, f"mar: error: {message}\n")


def _model(tmp_path: Path) -> Path:
    archive = tmp_path / "model.mar"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("MAR-INF/MANIFEST.json", hostile.MANIFEST)
        writer.writestr("h.py", hostile.HANDLER)
    return archive


def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    archive = _model(tmp_path)
    before = archive.read_bytes()
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"input")
    link = tmp_path / "same-file.mar"
    link.hardlink_to(archive)
    for args, given in (
        (["validate", str(archive), "-o", str(archive)], archive),
        (["validate", str(archive), "-o", str(link)], archive),
        (["run", str(archive), "--output", str(archive)], archive),
        (["run", str(archive), "-i", str(payload), "-o", str(payload)], payload),
    ):
        done = mar(*args, cache=tmp_path / "cache")
        assert done.returncode == 2, (args, done.stderr)
        output = args[-1]
        assert done.stderr.startswith(
            f"mar: error: --output {output}: that is the input {given}; writing the output "
            "there would overwrite it.\n"
        ), done.stderr
    assert archive.read_bytes() == before and payload.read_bytes() == b"input"
    model_dir = tmp_path / "dir-model"
    model_dir.mkdir()
    (model_dir / "MAR-INF").mkdir()
    (model_dir / "MAR-INF" / "MANIFEST.json").write_bytes(hostile.MANIFEST)
    inside = mar("validate", str(model_dir), "-o", str(model_dir / "MAR-INF" / "MANIFEST.json"))
    assert inside.returncode == 2 and "that is inside the input" in inside.stderr


def test_exit_codes_of_unreadable_archives_and_missing_output_directories(
    tmp_path: Path,
) -> None:
    unreadable = Path("/proc/self/mem")  # a regular file whose reads fail (EIO), even as root
    for args in (["run", str(unreadable), "--data", "x"], ["env", "path", str(unreadable)]):
        done = mar(*args, cache=tmp_path / "cache")
        assert (done.returncode, done.stderr) == (
            3,
            f"mar: error: {unreadable}: cannot read (Input/output error).\n",
        ), args
    archive = _model(tmp_path)
    missing = tmp_path / "nodir" / "r.json"
    done = mar("validate", str(archive), "-o", str(missing))
    assert (done.returncode, done.stderr) == (
        2,
        f"mar: error: --output {missing}: the directory {missing.parent} does not exist.\n",
    )
