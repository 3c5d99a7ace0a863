"""The allocator settings the command applies for the formats that compress: the archive's
bytes do not change, the page faults of a large deflated build drop, and a user's own glibc
allocator settings are left alone."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mar_tools.core.allocator import keep_freed_buffers

SCRIPT = str(Path(sys.executable).parent / "torch-model-archiver")
#: Set to its default value: glibc behaves as untuned, and our tuning stays out of the way.
NEUTRAL_TUNABLE = {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=7"}


def _glibc() -> bool:
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        return False


glibc_only = pytest.mark.skipif(not _glibc(), reason="mallopt tuning is glibc's")


@pytest.mark.parametrize(
    "environ",
    [
        {"MALLOC_TOP_PAD_": "0"},
        {"MALLOC_MMAP_THRESHOLD_": "131072"},
        {"MALLOC_TRIM_THRESHOLD_": "131072"},
        {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"},
        NEUTRAL_TUNABLE,
    ],
)
def test_the_users_own_allocator_settings_win(environ: dict[str, str]) -> None:
    assert keep_freed_buffers(environ) is False


@glibc_only
def test_glibc_accepts_the_settings() -> None:
    code = "from mar_tools.core.allocator import keep_freed_buffers as k; print(k({}))"
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout == "True\n"


def _build(model_dir: Path, name: str, extra_env: dict[str, str]) -> tuple[bytes, int]:
    """Build *name*.mar of weights.bin in a child process; return its bytes and the child's
    minor page faults."""
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env.update({"SOURCE_DATE_EPOCH": "1700000000", **extra_env})
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    subprocess.run(
        [SCRIPT, "--model-name", name, "--handler", "handler.py", "-v", "1.0",
         "--serialized-file", "weights.bin", "--jobs", "2", "-q"],
        cwd=model_dir, env=env, check=True, capture_output=True,
    )  # fmt: skip
    faults = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before
    return (model_dir / f"{name}.mar").read_bytes(), faults


@glibc_only
def test_same_archive_with_far_fewer_page_faults(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "handler.py").write_text("def handle(data, context):\n    return data\n")
    weights = np.random.default_rng(0).standard_normal(12 << 20, dtype=np.float32) * 0.02
    (model_dir / "weights.bin").write_bytes(weights.tobytes())  # 48 MiB of float32 weights
    untuned, untuned_faults = _build(model_dir, "m", NEUTRAL_TUNABLE)
    (model_dir / "m.mar").unlink()
    tuned, tuned_faults = _build(model_dir, "m", {})
    assert tuned == untuned
    with zipfile.ZipFile(model_dir / "m.mar") as archive:
        assert archive.testzip() is None
        info = archive.getinfo("weights.bin")
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.compress_size < info.file_size
    # Untuned, every MiB chunk faults its buffers in again (~250 faults each, ~12,000 here).
    assert tuned_faults < 0.6 * untuned_faults, (tuned_faults, untuned_faults)
