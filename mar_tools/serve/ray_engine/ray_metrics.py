"""Ray's own metrics, gathered from every node of the cluster into one Prometheus text.

Each Ray node exports its metrics (Ray core's ``ray_*``, Ray Serve's ``ray_serve_*`` for the
replicas on that node) on its metrics export port. :func:`merge_expositions` joins the
nodes' texts family by family (a family's samples carry each node's labels, so they do not
collide) and keeps only *names* when given, so ``/metrics`` stays valid Prometheus text with
TorchServe's families first and Ray's after them.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

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


class _Merged:
    """A collector (as ``generate_latest`` wants one) of already-merged families."""

    def __init__(self, families: list[Any]) -> None:
        self._families = families

    def collect(self) -> list[Any]:
        return self._families


def merge_expositions(texts: Sequence[str], names: Sequence[str] = ()) -> bytes:
    """One exposition of every family in *texts* (only those in *names*, when given)."""
    wanted = set(names)
    merged: dict[str, Any] = {}
    for text in texts:
        try:
            families = list(text_string_to_metric_families(text))
        except ValueError:
            continue
        for family in families:
            # The parser drops a counter's "_total"; clients ask by the sample's name.
            if wanted and not wanted & {family.name, f"{family.name}_total"}:
                continue
            known = merged.get(family.name)
            if known is None:
                merged[family.name] = family
            elif known.type == family.type:
                known.samples.extend(family.samples)
    if not merged:
        return b""
    return generate_latest(_Merged(list(merged.values())))


__all__ = ["merge_expositions", "scrape"]
