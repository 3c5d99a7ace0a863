"""The physical limit of the archiver's ``default`` format on compressible weights: the time
the archiver's own deflate of every 1 MiB chunk of a file (and its CRC-32) takes in this
process, in one thread and in two, with the file already in memory. No interpreter start-up,
no reading, no writing: what no build of the same bytes at the same size can beat on this
machine. Issue 15's fp32 row is measured next to it (``benchmarks.archiver --round-two``).
"""

from __future__ import annotations

import resource
import shlex
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.harness import Measurement, run_once
from mar_tools.core.allocator import keep_freed_buffers
from torch_model_archiver.compression import CHUNK_SIZE, deflate_chunk, select_backend


def _chunks(path: Path) -> list[memoryview]:
    data = memoryview(path.read_bytes())
    return [data[start : start + CHUNK_SIZE] for start in range(0, len(data), CHUNK_SIZE)]


def compress_once(chunks: Sequence[memoryview], threads: int) -> tuple[float, float, int]:
    """Deflate (the backend's fast level, as the archiver) and CRC every chunk on *threads*
    threads; return (wall seconds, CPU seconds of this process, compressed bytes)."""
    backend = select_backend()

    def one(chunk: memoryview) -> int:
        backend.crc32(chunk, 0)
        return len(deflate_chunk(backend, chunk, backend.fast_level))

    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    if threads == 1:
        sizes = [one(chunk) for chunk in chunks]
    else:
        with ThreadPoolExecutor(threads) as pool:
            sizes = list(pool.map(one, chunks))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    return wall, cpu, sum(sizes)


def versus_compression_limit(
    path: Path, argv: Sequence[str], cwd: Path, before_each: Callable[[], None], repeats: int
) -> tuple[Measurement, Measurement, Measurement]:
    """Time the build *argv* (of *path*) and the in-process two-thread and one-thread
    compression limits of *path* alternately (two threads, build, one thread, ...).

    Returns (build, two-thread limit, one-thread limit). This process gets the allocator
    settings the command applies, so the limit pays no more page faults than the build.
    """
    keep_freed_buffers()
    chunks = _chunks(path)
    two: list[float] = []
    one: list[float] = []
    built: list[float] = []
    cpu2: list[float] = []
    peak = 0
    size = 0
    for _ in range(repeats):
        wall, cpu, size = compress_once(chunks, 2)
        two.append(wall)
        cpu2.append(cpu)
        before_each()
        elapsed, rss = run_once(argv, cwd=cwd)
        built.append(elapsed)
        peak = max(peak, rss)
        one.append(compress_once(chunks, 1)[0])
    notes = {"order": "interleaved", "deflated size": f"{size:,} B"}
    backend = select_backend().name
    limit = f"in-process: {backend} deflate_chunk + crc32 of every 1 MiB chunk of {path}"
    cpu_note = {**notes, "CPU time (median)": f"{sorted(cpu2)[len(cpu2) // 2]:.2f} s"}
    return (
        Measurement("ours default", shlex.join(argv), tuple(built), peak, notes),
        Measurement(
            "two-thread compression limit", f"{limit}, 2 threads", tuple(two), None, cpu_note
        ),
        Measurement("one-thread compression limit", limit + ", 1 thread", tuple(one), None, notes),
    )
