"""Timing helpers shared by every benchmark: run a command several times, record wall time
and the peak RSS of the process tree's biggest process, compare with a baseline measured
in the same run, and render Markdown.

Benchmarks compare ratios measured side by side, never absolute seconds against a
constant: the machine's speed varies, the ratio to a baseline run next to it much less.
"""

from __future__ import annotations

import compileall
import os
import platform
import shlex
import statistics
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: The repository (the packages whose bytecode :func:`compile_project` writes).
ROOT = Path(__file__).resolve().parent.parent


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


#: Runs argv[2:] as a child of this small process and reports, on the file descriptor in
#: argv[1], the child's wall time (fork to exit) and peak RSS. Linux charges a child the
#: peak RSS of the process it was forked from (the memory map is copied, or shared by
#: vfork, and its high-water mark is kept across exec), so a command started directly from
#: a benchmark that holds hundreds of MiB (numpy, torch) would report at least that much.
#: Forking from this fresh interpreter bounds that floor at ~10 MiB.
_LAUNCHER = """\
import os, sys, time
report = int(sys.argv[1])
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.close(report)
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - start
os.write(report, f"{elapsed!r} {usage.ru_maxrss}".encode())
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_once(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> tuple[float, int]:
    """Run *argv* to completion; return (wall seconds, peak RSS in bytes of that process).

    The time runs from fork to exit of the command and the RSS is its own ``ru_maxrss``
    (see ``_LAUNCHER``: a floor of about 10 MiB, the launcher's own size), so neither
    includes this process. Raises ``RuntimeError`` with the output tail when the command fails.
    """
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(write_end), *argv],
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write_end,),
        )
    finally:
        os.close(write_end)
    try:
        _, err_bytes = proc.communicate(stdin)
        report = b""
        while chunk := os.read(read_end, 256):
            report += chunk
    finally:
        os.close(read_end)
    err = err_bytes.decode(errors="replace") if err_bytes else ""
    if proc.returncode != 0 or not report:
        raise RuntimeError(f"{shlex.join(argv)} exited {proc.returncode}:\n{err[-2000:]}")
    elapsed, maxrss = report.split()
    return float(elapsed), int(maxrss) * 1024


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


def interleaved(
    first: tuple[str, Sequence[str]],
    second: tuple[str, Sequence[str]],
    *,
    repeats: int,
    warmups: int = 0,
    before_each: Callable[[], None] | None = None,
    env: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[Measurement, Measurement]:
    """Time two ``(label, argv)`` commands alternately (A B A B ...), *warmups* untimed rounds
    first, so that load from other processes on a shared machine falls on both alike
    instead of on whichever ran during a busy spell. *before_each* runs (untimed) before
    every run of either command; *cwd* is where both run."""
    seconds: tuple[list[float], list[float]] = ([], [])
    peaks = [0, 0]
    for round_ in range(warmups + repeats):
        for index, (_, argv) in enumerate((first, second)):
            if before_each is not None:
                before_each()
            elapsed, rss = run_once(argv, cwd=cwd, env=env)
            if round_ >= warmups:
                seconds[index].append(elapsed)
                peaks[index] = max(peaks[index], rss)
    subject, baseline = (
        Measurement(label, shlex.join(argv), tuple(seconds[i]), peaks[i], dict(notes or {}))
        for i, (label, argv) in enumerate((first, second))
    )
    return subject, baseline


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
    if value < 0.01:
        return f"{value * 1000:.2f} ms"  # per-request times and latencies
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


def compile_project() -> None:
    """Write the project's bytecode, as installing it does: where ``PYTHONDONTWRITEBYTECODE``
    is set (this sandbox) every run would otherwise compile ~40 modules (~40-90 ms)."""
    for package in ("torch_model_archiver", "mar_tools"):
        compileall.compile_dir(ROOT / package, quiet=1)


def warm(*targets: Path) -> None:
    """Read every file of *targets* once, untimed, so that the next command finds them in
    memory. Needed before each timed run here, not only once: this sandbox's kernel pages
    out memory left idle for a second or two (DAMON's pageout scheme), so an input read a
    few runs ago may have to come from disk again, and only for whichever command is next."""
    for target in targets:
        files = [target] if target.is_file() else [p for p in target.rglob("*") if p.is_file()]
        for file in files:
            with open(file, "rb") as handle:
                while handle.read(16 << 20):
                    pass
