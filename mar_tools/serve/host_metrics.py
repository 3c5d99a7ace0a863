"""Host gauges TorchServe reports (CPU, memory, disk), read from ``/proc`` without psutil.

CPU utilization is measured between two calls (the first call reports since boot). On a
system without ``/proc`` the memory and CPU gauges are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

_last_cpu: tuple[int, int] | None = None


def host_gauges(disk_usage: Callable[[str], Any]) -> dict[str, float]:
    """``{gauge name: value}`` in TorchServe's units (MB, GB, percent)."""
    gauges: dict[str, float] = {}
    cpu = _cpu_percent()
    if cpu is not None:
        gauges["CPUUtilization"] = cpu
    memory = _meminfo()
    if memory:
        total = memory.get("MemTotal", 0) / 1024
        available = memory.get("MemAvailable", 0) / 1024
        gauges["MemoryUsed"] = total - available
        gauges["MemoryAvailable"] = available
        gauges["MemoryUtilization"] = round(100 * (total - available) / total, 1) if total else 0.0
    disk = disk_usage("/")
    gauges["DiskUsage"] = disk.used / 1024**3
    gauges["DiskAvailable"] = disk.free / 1024**3
    gauges["DiskUtilization"] = round(100 * disk.used / disk.total, 1) if disk.total else 0.0
    return gauges


def _meminfo() -> dict[str, int]:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name] = int(parts[0])
    return values


def _cpu_percent() -> float | None:
    global _last_cpu
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    numbers = [int(f) for f in fields]
    idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0)
    total = sum(numbers)
    previous, _last_cpu = _last_cpu, (idle, total)
    if previous is not None and total > previous[1]:
        idle, total = idle - previous[0], total - previous[1]
    return round(100.0 * (1 - idle / total), 1) if total else 0.0
