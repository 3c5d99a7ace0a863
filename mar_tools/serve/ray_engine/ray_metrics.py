"""Ray's own metrics, gathered from every node of the cluster into one Prometheus text.

Each Ray node exports its metrics (Ray core's ``ray_*``, Ray Serve's ``ray_serve_*`` for the
replicas on that node) on its metrics export port. :func:`merge_expositions` joins the
nodes' texts family by family, line by line (a family's samples carry each node's labels,
so they do not collide) and keeps only *names* when given, so ``/metrics`` stays valid
Prometheus text with TorchServe's families first and Ray's after them.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_SAMPLE = re.compile(
    r"^[A-Za-z_:][A-Za-z0-9_:]*(\{.*\})?\s+"
    r"[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|Inf|NaN)(\s+-?\d+)?$"
)
#: Seconds one node may take to answer.
SCRAPE_TIMEOUT = 3.0


def scrape(addresses: Iterable[tuple[str, int]]) -> list[str]:
    """The metrics text of each ``(host, port)`` that answers (silent for those that do not:
    a node that has just died must not break ``/metrics``)."""
    texts = []
    for host, port in addresses:
        try:
            with urllib.request.urlopen(
                f"http://{host}:{port}/metrics", timeout=SCRAPE_TIMEOUT
            ) as response:
                texts.append(response.read().decode("utf-8", "replace"))
        except (OSError, ValueError):
            continue
    return texts


@dataclass
class _Family:
    """One family's comment lines and sample lines, as the nodes wrote them."""

    comments: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)


def merge_expositions(texts: Sequence[str], names: Sequence[str] = ()) -> bytes:
    """One exposition of every family in *texts* (only those in *names*, when given).

    A family is what follows its ``# HELP`` / ``# TYPE`` lines; its samples are named after
    it (``x``, ``x_total``, ``x_bucket``...). Lines are kept as the nodes wrote them; the
    first node's comment lines of a family are kept, the samples of all nodes.
    """
    wanted = set(names)
    families: dict[str, _Family] = {}
    for text in texts:
        current = ""
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) < 3 or parts[1] not in ("HELP", "TYPE"):
                    continue
                current = parts[2]
                family = families.setdefault(current, _Family())
                if len(family.comments) < 2 and not family.samples:
                    family.comments.append(line)
                continue
            if _SAMPLE.match(line) is None:
                continue  # not a sample line: a broken node must not break /metrics
            sample = line.split("{", 1)[0].split(None, 1)[0]
            if not current or not sample.startswith(current):
                current = sample
            families.setdefault(current, _Family()).samples.append(line)
    out: list[str] = []
    for name, family in families.items():
        if wanted and not wanted & {name, f"{name}_total"}:
            continue
        out += family.comments
        out += family.samples
    return ("\n".join(out) + "\n").encode("utf-8") if out else b""


__all__ = ["merge_expositions", "scrape"]
