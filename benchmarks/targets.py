"""The performance targets the issues set, and which measured comparison answers each.

Each area's ``run()`` marks its own comparisons ``met`` or not against the target it knows.
This table exists so that RESULTS.md lists *every* target, including one that no
comparison answered (shown as "not measured" rather than silently missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.harness import Comparison


@dataclass(frozen=True)
class Target:
    """One target: where it was set, what it says, and words that identify its comparison.

    A comparison answers the target when every keyword occurs (case-insensitively) in its
    title or target text.
    """

    issue: int
    text: str
    keywords: tuple[str, ...]

    def answered_by(self, comparisons: Sequence[Comparison]) -> list[Comparison]:
        """The comparisons that measure this target."""
        found = []
        for comparison in comparisons:
            haystack = f"{comparison.title} {comparison.target or ''}".lower()
            if all(word.lower() in haystack for word in self.keywords):
                found.append(comparison)
        return found


TARGETS: tuple[Target, ...] = (
    Target(
        2,
        "1 GiB incompressible: ≥ 8× faster than upstream `default`",
        ("incompressible", "upstream"),
    ),
    Target(2, "1 GiB incompressible: within 2× of `cp`", ("incompressible", "vs cp")),
    Target(
        2,
        "512 MiB fp32 state dict: ≥ 3× faster than upstream, archive ≤ 2% larger",
        ("fp32", "vs upstream"),
    ),
    Target(2, "bf16-like weights: ≥ 3× faster than upstream, archive ≤ 2% larger", ("bf16",)),
    Target(2, "archiver peak RSS ≤ 128 MiB", ("archiver peak rss",)),
    Target(2, "2,000 small files (reported)", ("small files",)),
    Target(3, "`mar validate --quick` on a 1 GiB archive: < 0.5 s", ("--quick",)),
    Target(3, "`mar validate` (full) within 1.5× of `unzip -t`", ("unzip",)),
    Target(
        11,
        "pickle scan per byte no slower than the scan it replaced: ≤ 3.3× pickletools.genops",
        ("pickle scan", "state dict"),
    ),
    Target(4, "`mar run` small model ≤ 1.25× a hand-written script", ("script",)),
    Target(
        4, "cached 2nd run of a 1 GiB archive adds < 0.1 s over a small one", ("cached 2nd run",)
    ),
    Target(
        4,
        "`mar run` cold start vs TorchServe launch-to-first-prediction (reported)",
        ("launch", "small"),
    ),
    Target(
        15,
        "`mar validate` (full), one large DEFLATED entry: ≤ 1.15× the one-thread inflate limit",
        ("one large deflated entry", "inflate limit"),
    ),
    Target(
        15,
        "`mar validate` (full), several large DEFLATED entries: ≤ 0.65× the one-thread "
        "inflate limit",
        ("large deflated entries", "inflate limit"),
    ),
    Target(
        15, "`mar validate` (full) on a 1 GiB `.tar.gz`: ≤ 0.5× `tar -tzf`", ("≤ 0.5× tar -tzf",)
    ),
    Target(15, "archiver, 1 GiB incompressible: ≤ 1.3× `cp`", ("incompressible", "≤ 1.3× cp")),
    Target(
        15,
        "archiver, 512 MiB fp32 state dict, `default`: ≤ 0.6 s at ≤ 1.0× today's size",
        ("float32 state dict", "≤ 0.6 s"),
    ),
    Target(
        15,
        "first `mar run` of a 1 GiB archive (hash + extract) ≤ 1.5× `cp` of the same bytes",
        ("first run", "vs cp"),
    ),
    Target(15, "`mar --help` ≤ 80 ms", ("start-up: mar --help",)),
    Target(15, "`torch-model-archiver --help` ≤ 60 ms", ("start-up: torch-model-archiver --help",)),
    Target(
        15,
        "`mar validate` on a 1 KiB archive ≤ 3× a bare interpreter's start-up",
        ("start-up: mar validate",),
    ),
    Target(5, "warm run with requirements ≤ 1.2× without", ("requirements", "warm")),
    Target(
        5,
        "cold environment creation: virtualenv+pip vs uv (reported)",
        ("cold environment creation",),
    ),
    Target(
        5,
        "vs TorchServe installing requirements at every registration (reported)",
        ("torchserve", "requirements"),
    ),
    Target(
        10,
        "`mar serve` ≥ 1.5× TorchServe's requests/s at concurrency 1 and 16",
        ("serve: time per request",),
    ),
    Target(10, "`mar serve` p99 ≤ TorchServe's at concurrency 1 and 16", ("serve: p99",)),
    Target(
        10, "`mar serve` start-up to first prediction ≤ 0.5× TorchServe's", ("serve: start-up",)
    ),
    Target(10, "`mar serve` process RSS ≤ 0.25× TorchServe's frontend", ("serve: server process",)),
    Target(13, "`mar inspect` on a 1 GiB archive: ≤ 0.3 s wall", ("mar inspect vs zipinfo",)),
    Target(
        13,
        "`mar diff` of two 1 GiB archives differing in one small entry: ≤ 1.2× reading both once",
        ("differing in one small entry",),
    ),
    Target(13, "`mar repack` default → zip-store of 1 GiB: ≤ 2× `cp`", ("repack", "≤ 2× cp")),
    Target(
        16,
        "`mar serve --engine ray`: 2 replicas ≥ 1.6× one replica's throughput (CPU-bound, 2 cores)",
        ("ray scale: time per request",),
    ),
)
