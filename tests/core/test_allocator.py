"""keep_freed_buffers, as a full validation uses it: blocks freed while streaming are reused,
not faulted in afresh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """\
import resource, sys
if sys.argv[1] == "retain":
    from mar_tools.core.allocator import keep_freed_buffers
    assert keep_freed_buffers({})
    assert keep_freed_buffers({})  # again: the same settings
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(2):
    for mib in range(1, 25):  # growing blocks: glibc's default maps each one afresh
        block = bytearray(mib << 20)  # zeroed: every page is touched
        del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_freed_blocks_are_reused_without_page_faults() -> None:
    # 600 MiB of blocks: ~150,000 page faults if each were mapped afresh; the heap they
    # share needs ~6,000.
    retained = faults("retain")
    assert retained < 20_000, retained
    assert faults("default") > 2 * retained  # what the setting changes, on this libc
