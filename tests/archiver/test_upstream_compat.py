"""Side by side with the real upstream torch-model-archiver 0.12.0 (installed in its own venv):
the same command line gives the same files, the same contents and the same manifest (all but
``createdOn``), in every format; where upstream fails, we do not."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.archiver.outputs import MANIFEST, entries, run_cli, write
from tests.support.upstream import UpstreamUnavailable, archiver_venv, venv_bin

pytestmark = pytest.mark.compat

OUTPUT = {"default": ".mar", "zip-store": ".mar", "tgz": ".tar.gz", "no-archive": ""}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Path]:
    try:
        yield venv_bin(archiver_venv(), "torch-model-archiver")
    except UpstreamUnavailable as exc:
        pytest.skip(f"upstream torch-model-archiver unavailable: {exc}")


def unique(name: str) -> str:
    """Upstream stages in /tmp/<model-name>: a unique name keeps parallel runs apart."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def run_upstream(upstream: Path, cwd: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    return subprocess.run(
        [str(upstream), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def both(
    upstream: Path, model_dir: Path, args: list[str], fmt: str
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Build with upstream into ./theirs and with ours into ./ours; return both contents."""
    name = unique("m")
    common = ["--model-name", name, "--archive-format", fmt, *args]
    (model_dir / "theirs").mkdir(exist_ok=True)
    done = run_upstream(upstream, model_dir, [*common, "--export-path", "theirs"])
    assert done.returncode == 0, done.stderr
    ours = run_cli([*common, "--export-path", "ours"])
    assert ours.code == 0, ours.stderr
    return (
        entries(model_dir / "theirs" / (name + OUTPUT[fmt])),
        entries(model_dir / "ours" / (name + OUTPUT[fmt])),
    )


def same_but_created_on(theirs: bytes, ours: bytes) -> None:
    a, b = json.loads(theirs), json.loads(ours)
    assert a.pop("createdOn") and b.pop("createdOn")
    assert a == b
    assert list(json.loads(theirs)) == list(json.loads(ours)), "same key order"
    # Same bytes once createdOn is equal: indent, separators, no trailing newline.
    created = json.loads(theirs)["createdOn"]
    assert ours.decode().replace(json.loads(ours)["createdOn"], created) == theirs.decode()


FULL = [
    "--handler",
    "my_handler:fn",
    "--serialized-file",
    "weights.pt",
    "--model-file",
    "model.py",
    "--extra-files",
    "index_to_name.json,extra",
    "-r",
    "requirements.txt",
    "-c",
    "model-config.yaml",
    "-v",
    "1.0",
]


@pytest.mark.parametrize("fmt", list(OUTPUT))
def test_same_files_contents_and_manifest_in_every_format(
    upstream: Path, model_dir: Path, fmt: str
) -> None:
    theirs, ours = both(upstream, model_dir, FULL, fmt)
    assert sorted(theirs) == sorted(ours)
    same_but_created_on(theirs.pop(MANIFEST), ours.pop(MANIFEST))
    assert theirs == ours


@pytest.mark.parametrize(
    "args",
    [
        ["--handler", "handler", "-v", "2"],
        ["--handler", "handler.py", "-v", ""],
        ["--handler", "image_classifier", "-v", "1", "--runtime", "python3"],
        ["--handler", "text_classifier", "-v", "1", "--extra-files", "extra/*"],
        [
            "--handler",
            "handler.py",
            "-v",
            "1",
            "--serialized-file",
            "weights.pt",
            "--extra-files",
            "extra/sub/b.txt,index_to_name.json",
        ],
        ["--handler", "handler.py", "-v", "1", "-r", "", "-c", ""],
    ],
    ids=["no-.py", "empty-version", "builtin-python3", "glob-dirs", "nested-file", "empty-paths"],
)
def test_same_result_for_upstreams_own_cases(
    upstream: Path, model_dir: Path, args: list[str]
) -> None:
    theirs, ours = both(upstream, model_dir, args, "default")
    assert sorted(theirs) == sorted(ours)
    same_but_created_on(theirs.pop(MANIFEST), ours.pop(MANIFEST))
    assert theirs == ours


def test_where_upstream_fails_we_build(upstream: Path, model_dir: Path) -> None:
    """Upstream crashes on 'a, b', on x.py:fn and on files older than 1980."""
    os.utime(model_dir / "model.py", (0, 0))
    args = [
        "--model-name",
        unique("m"),
        "-v",
        "1",
        "--handler",
        "my_handler.py:fn",
        "--extra-files",
        "index_to_name.json, model.py",
    ]
    failed = run_upstream(upstream, model_dir, args)
    assert failed.returncode != 0
    assert "Traceback" in failed.stderr
    ours = run_cli(args)
    assert ours.code == 0, ours.stderr


def test_upstream_silently_overwrites_where_we_refuse(upstream: Path, model_dir: Path) -> None:
    write(model_dir / "a" / "config.json", "A")
    write(model_dir / "b" / "config.json", "B")
    name = unique("m")
    args = [
        "--model-name",
        name,
        "-v",
        "1",
        "--handler",
        "handler.py",
        "--extra-files",
        "a/config.json,b/config.json",
    ]
    assert run_upstream(upstream, model_dir, args).returncode == 0
    assert entries(model_dir / f"{name}.mar")["config.json"] == b"B"  # the first is lost
    outcome = run_cli([*args, "-f"])
    assert outcome.code == 1
    assert "two files would both be stored as 'config.json'" in outcome.stderr


def test_our_archives_have_upstreams_compression_only_where_it_pays(
    upstream: Path, model_dir: Path
) -> None:
    """Upstream deflates random weights into a bigger entry; we store them. Small entries
    that shrink are deflated exactly as upstream does (zlib level 6): same sizes, same CRCs."""
    write(model_dir / "labels.json", json.dumps({str(i): f"label {i}" for i in range(500)}))
    name = unique("m")
    args = [
        "--model-name",
        name,
        "-v",
        "1",
        "--handler",
        "handler.py",
        "--serialized-file",
        "weights.pt",
        "--extra-files",
        "labels.json,model.py",
    ]
    (model_dir / "theirs").mkdir()
    assert run_upstream(upstream, model_dir, [*args, "--export-path", "theirs"]).returncode == 0
    assert run_cli([*args, "--export-path", "ours"]).code == 0
    with (
        zipfile.ZipFile(model_dir / "theirs" / f"{name}.mar") as theirs,
        zipfile.ZipFile(model_dir / "ours" / f"{name}.mar") as ours,
    ):
        upstream_entry, our_entry = theirs.getinfo("weights.pt"), ours.getinfo("weights.pt")
        assert upstream_entry.compress_size > upstream_entry.file_size
        assert our_entry.compress_size == our_entry.file_size
        for entry in ("labels.json", "model.py", "handler.py"):
            a, b = theirs.getinfo(entry), ours.getinfo(entry)
            assert (a.CRC, a.file_size) == (b.CRC, b.file_size)
            if b.compress_type == zipfile.ZIP_DEFLATED:
                assert a.compress_size == b.compress_size
            else:
                assert a.compress_size >= b.file_size, "stored only where deflate did not pay"
