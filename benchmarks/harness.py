"""Timing helpers shared by every benchmark: run a command several times, record wall time
and the peak RSS of the process tree's biggest process, compare with a baseline measured
in the same run, and render Markdown.

Benchmarks compare ratios measured side by side, never absolute seconds against a
constant: the machine's speed varies, the ratio to a baseline run next to it much less.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Measurement:
    """Several runs of one command: wall seconds per run and the largest peak RSS (bytes)."""

    label: str
    command: str
    seconds: tuple[float, ...]
    peak_rss: int | None = None
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def minimum(self) -> float:
        return min(self.seconds)

    @property
    def maximum(self) -> float:
        return max(self.seconds)


@dataclass(frozen=True)
class Comparison:
    """A subject measured against a baseline; ``ratio`` = subject median / baseline median."""

    title: str
    subject: Measurement
    baseline: Measurement
    target: str | None = None
    met: bool | None = None

    @property
    def ratio(self) -> float:
        return self.subject.median / self.baseline.median


def run_once(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> tuple[float, int]:
    """Run *argv* to completion; return (wall seconds, peak RSS in bytes of that process).

    The RSS is the child's own ``ru_maxrss`` (from ``wait4``), so it excludes this process.
    Raises ``RuntimeError`` with the output tail when the command fails.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if stdin is not None and proc.stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {proc.returncode}:\n{err[-2000:]}")
    return elapsed, usage.ru_maxrss * 1024


def measure(
    label: str,
    argv: Sequence[str],
    *,
    repeats: int = 3,
    before_each: Callable[[], None] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
) -> Measurement:
    """Run *argv* *repeats* times (calling *before_each* first, untimed)."""
    seconds: list[float] = []
    peak = 0
    for _ in range(repeats):
        if before_each is not None:
            before_each()
        elapsed, rss = run_once(argv, cwd=cwd, env=env)
        seconds.append(elapsed)
        peak = max(peak, rss)
    return Measurement(label, shlex.join(argv), tuple(seconds), peak, dict(notes or {}))


def machine_info() -> str:
    """One Markdown paragraph describing the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    model = _cpu_model()
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({model or cpu}), "
        f"Python {platform.python_version()}"
    )


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def format_seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def format_bytes(value: int | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 2**20:.1f} MiB"


def markdown_table(comparisons: Sequence[Comparison]) -> str:
    """A Markdown table: one row per measurement, the subject's ratio to its baseline."""
    rows = [
        "| comparison | run | min | median | max | peak RSS | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for comp in comparisons:
        for m, is_subject in ((comp.baseline, False), (comp.subject, True)):
            ratio = f"{comp.ratio:.2f}×" if is_subject else "1.00× (baseline)"
            met = "" if not is_subject or comp.met is None else ("yes" if comp.met else "**no**")
            rows.append(
                f"| {comp.title} | {m.label} | {format_seconds(m.minimum)} | "
                f"{format_seconds(m.median)} | {format_seconds(m.maximum)} | "
                f"{format_bytes(m.peak_rss)} | {ratio} | {comp.target or ''} | {met} |"
            )
    return "\n".join(rows)


def commands_block(comparisons: Sequence[Comparison]) -> str:
    """A fenced block listing every command that was timed."""
    lines = []
    for comp in comparisons:
        lines.append(f"# {comp.title}")
        lines.append(comp.baseline.command)
        lines.append(comp.subject.command)
    return "```\n" + "\n".join(lines) + "\n```"
