"""The metrics API: TorchServe's frontend metrics and the handlers' own, in Prometheus text.

Frontend metrics have TorchServe's names, types, units and labels (``ts_metrics`` of the
``metrics_config``, or TorchServe's default list when the file has none):
``ts_inference_requests_total``, ``ts_inference_latency_microseconds`` and
``ts_queue_latency_microseconds`` (counters by model name, version and hostname),
``Requests2XX/4XX/5XX``, ``QueueTime``, ``WorkerThreadTime``, ``WorkerLoadTime`` and the host
gauges (CPU, memory, disk; read from ``/proc`` when scraped). Backend metrics are the
``[METRICS]`` lines workers emit (``HandlerTime``, ``PredictionTime``, a handler's
``context.metrics.add_*``): those declared under ``model_metrics`` are kept, others only
with ``model_metrics_auto_detect``; each gets a ``Hostname`` label, as in TorchServe.

The text is Prometheus exposition 0.0.4 with TorchServe's family names (``Requests2XX``, not
``Requests2XX_total``): ``prometheus_client`` formats the numbers and label values, and
parses the output in the tests. ``metrics_mode=log`` leaves ``/metrics`` empty, as in
TorchServe.
"""

from __future__ import annotations

import re
import shutil
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.utils import floatToGoString

from mar_tools.serve.host_metrics import host_gauges

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LEVEL_HOST = ("Level", "Hostname")
_MODEL = ("model_name", "model_version", "hostname")
DEFAULT_FRONTEND: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Requests2XX", "counter", "Count", _LEVEL_HOST),
    ("Requests4XX", "counter", "Count", _LEVEL_HOST),
    ("Requests5XX", "counter", "Count", _LEVEL_HOST),
    ("ts_inference_requests_total", "counter", "Count", _MODEL),
    ("ts_inference_latency_microseconds", "counter", "Microseconds", _MODEL),
    ("ts_queue_latency_microseconds", "counter", "Microseconds", _MODEL),
    ("QueueTime", "gauge", "Milliseconds", _LEVEL_HOST),
    ("WorkerThreadTime", "gauge", "Milliseconds", _LEVEL_HOST),
    ("WorkerLoadTime", "gauge", "Milliseconds", ("WorkerName", "Level", "Hostname")),
    ("CPUUtilization", "gauge", "Percent", _LEVEL_HOST),
    ("MemoryUsed", "gauge", "Megabytes", _LEVEL_HOST),
    ("MemoryAvailable", "gauge", "Megabytes", _LEVEL_HOST),
    ("MemoryUtilization", "gauge", "Percent", _LEVEL_HOST),
    ("DiskUsage", "gauge", "Gigabytes", _LEVEL_HOST),
    ("DiskUtilization", "gauge", "Percent", _LEVEL_HOST),
    ("DiskAvailable", "gauge", "Gigabytes", _LEVEL_HOST),
    ("GPUMemoryUtilization", "gauge", "Percent", ("Level", "DeviceId", "Hostname")),
    ("GPUMemoryUsed", "gauge", "Megabytes", ("Level", "DeviceId", "Hostname")),
    ("GPUUtilization", "gauge", "Percent", ("Level", "DeviceId", "Hostname")),
)  # fmt: skip
_LINE = re.compile(
    r"^\[METRICS\](?P<name>[^.:|]+)\.(?P<unit>[^:|]*):(?P<value>[^|]+)"
    r"\|#(?P<dims>[^|]*)\|#type:(?P<type>[A-Z]+)\|"
)


#: Shapes of metric lines remembered at most (a handler inventing dimension values per
#: request must not grow the server without bound).
_MAX_SHAPES = 4096


@dataclass
class Family:
    """One metric: name, Prometheus type, unit, label names, and values by label values."""

    name: str
    kind: str
    unit: str
    labels: tuple[str, ...]
    values: dict[tuple[str, ...], float] = field(default_factory=dict)

    def add(self, label_values: Sequence[str], value: float) -> None:
        key = label_values if type(label_values) is tuple else tuple(label_values)
        if self.kind == "counter":
            self.values[key] = self.values.get(key, 0.0) + value
        else:
            self.values[key] = value


_Shape = tuple[Family, tuple[str, ...]]
#: The shape of lines that record nothing (compared by identity).
_NOT_A_METRIC: _Shape = (Family("", "", "", ()), ())


class MetricsStore:
    """Every metric of the server, rendered by :meth:`exposition`."""

    def __init__(self, document: Any, *, enabled: bool, auto_detect: bool) -> None:
        self.enabled = enabled
        self.auto_detect = auto_detect
        self.hostname = socket.gethostname()
        self.frontend: dict[str, Family] = {}
        self.backend: dict[str, Family] = {}
        sections = document if isinstance(document, Mapping) else {}
        declared = list(_declared(sections.get("ts_metrics")))
        for name, kind, unit, labels in declared or DEFAULT_FRONTEND:
            self.frontend[name] = Family(name, kind, unit, labels)
        for name, kind, unit, labels in _declared(sections.get("model_metrics")):
            self.backend[name] = Family(name, kind, unit, (*labels, "Hostname"))
        self._shapes: dict[tuple[str, str, str], _Shape] = {}

    def count(self, name: str, labels: Sequence[str], value: float = 1.0) -> None:
        """Add *value* to frontend metric *name* (ignored when the config lacks it)."""
        family = self.frontend.get(name)
        if family is not None:
            family.add(labels, value)

    def host(self, name: str, value: float) -> None:
        self.count(name, ("Host", self.hostname), value)

    def status(self, code: int) -> None:
        """Requests2XX/4XX/5XX for a response of status *code*."""
        kind = "2XX" if 200 <= code < 300 else "4XX" if 400 <= code < 500 else "5XX"
        if not 300 <= code < 400:
            self.host(f"Requests{kind}", 1.0)

    def backend_lines(self, lines: Iterable[str]) -> None:
        """Record the ``[METRICS]`` lines a worker emitted (nothing when the metrics API is
        off: no one could read them).

        A worker repeats the same few lines with new values, so what a line's name, unit,
        dimensions and type make of it (the family and label values, or nothing) is worked
        out once per shape (:meth:`_shape`) and only the value is read each time.
        """
        if not self.enabled:
            return
        shapes = self._shapes
        for line in lines:
            head, _, rest = line.partition(":")
            value, _, tail = rest.partition("|")
            dims, _, after = tail.partition("|")
            kind, bar, _ = after.partition("|")
            key = (head, dims, kind)
            shape = shapes.get(key)
            if shape is None:
                shape = self._shape(line, key)
            if shape is _NOT_A_METRIC or not value or not bar:
                continue
            try:
                number = float(value)
            except ValueError:
                continue
            family, labels = shape
            family.add((*labels, self.hostname), number)

    def _shape(self, line: str, key: tuple[str, str, str]) -> _Shape:
        """What lines of *line*'s shape record (remembered under *key*): the family (created
        with ``model_metrics_auto_detect``) and the label values before ``Hostname``."""
        match = _LINE.match(line)
        if match is None:
            # The value or the end of the line may be what does not fit: not remembered.
            return _NOT_A_METRIC
        shape: _Shape = _NOT_A_METRIC
        dims = dict(item.split(":", 1) for item in match["dims"].split(",") if ":" in item)
        family = self.backend.get(match["name"])
        if family is None and self.auto_detect:
            kind = {"COUNTER": "counter", "HISTOGRAM": "histogram"}.get(match["type"], "gauge")
            family = Family(match["name"], kind, match["unit"], (*dims, "Hostname"))
            self.backend[family.name] = family
        if family is not None:
            shape = (family, tuple(dims.get(label, "") for label in family.labels[:-1]))
        if len(self._shapes) < _MAX_SHAPES:
            self._shapes[key] = shape
        return shape

    def exposition(self, names: Sequence[str] = ()) -> bytes:
        """Prometheus text of every metric (only *names* when given)."""
        if not self.enabled:
            return b""
        for name, value in host_gauges(shutil.disk_usage).items():
            self.host(name, value)
        wanted = set(names)
        out: list[str] = []
        for family in (*self.frontend.values(), *self.backend.values()):
            if wanted and family.name not in wanted:
                continue
            out.append(
                f"# HELP {family.name} Torchserve prometheus {family.kind} metric "
                f"with unit: {family.unit}"
            )
            out.append(f"# TYPE {family.name} {family.kind}")
            for label_values, value in family.values.items():
                pairs = "".join(
                    f'{label}="{_escape(v)}",'
                    for label, v in zip(family.labels, label_values, strict=False)
                )
                text = floatToGoString(value)  # type: ignore[no-untyped-call]
                out.append(f"{family.name}{{{pairs}}} {text}")
        return ("\n".join(out) + "\n").encode("utf-8") if out else b""


def _declared(section: Any) -> Iterable[tuple[str, str, str, tuple[str, ...]]]:
    if not isinstance(section, Mapping):
        return
    for kind in ("counter", "gauge", "histogram"):
        for spec in section.get(kind) or []:
            if isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
                dims = tuple(str(d) for d in spec.get("dimensions") or [])
                yield spec["name"], kind, str(spec.get("unit", "")), dims


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
