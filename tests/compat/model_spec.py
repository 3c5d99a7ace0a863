"""What the compatibility suite knows about a model: how to archive it and what to ask it.

A :class:`ModelSpec` names the archiver arguments (identical for upstream and ours) and the
:class:`Probe` requests whose answers TorchServe and ``mar run`` must agree on. The request
builders (:func:`json_request`, ...) keep the catalog short.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tests.support.http_client import InferenceRequest

Format = Literal["default", "zip-store", "tgz", "no-archive"]
FORMATS: tuple[Format, ...] = ("default", "zip-store", "tgz", "no-archive")


@dataclass(frozen=True)
class Probe:
    """One request, sent to TorchServe and given to ``mar run``; *label* names it in test ids.

    *status* is the HTTP status TorchServe answers with: checked first, so that a comparison
    never passes because both sides skipped the path the probe is meant to exercise.
    """

    label: str
    request: InferenceRequest
    status: int = 200


@dataclass(frozen=True)
class ModelSpec:
    """A model the suite archives with both archivers, then serves and runs.

    *args* are archiver arguments other than ``--model-name``, ``--archive-format``,
    ``--export-path`` and ``--force``, relative to the model's source directory (the
    archiver runs there). *singles* are sent one at a time to a ``batch_size=1``
    registration, *batch* all at once to a registration with ``batch_size=len(batch)``,
    *explanations* to ``/explanations``. *prepare* completes a copy of the source
    directory before the build (e.g. writes generated weights or wheels). *refused* names
    the archive formats TorchServe 0.12 itself cannot load this model from, and why: the
    suite then checks that it refuses upstream's build in that format as it refuses ours.
    """

    name: str
    source: Path
    args: tuple[str, ...]
    singles: tuple[Probe, ...] = ()
    batch: tuple[Probe, ...] = ()
    explanations: tuple[Probe, ...] = ()
    prepare: Callable[[Path], None] | None = field(default=None, compare=False)
    refused: Mapping[Format, str] = field(default_factory=dict)

    def staged(self, workdir: Path) -> Path:
        """Copy the source into *workdir*/<name>, run *prepare* there; return the copy."""
        target = workdir / self.name
        shutil.copytree(self.source, target, ignore=shutil.ignore_patterns("__pycache__"))
        if self.prepare is not None:
            self.prepare(target)
        return target


def json_request(value: object) -> InferenceRequest:
    """A body of JSON, sent as ``application/json``."""
    return InferenceRequest(json.dumps(value).encode(), "application/json")


def text_request(value: str) -> InferenceRequest:
    """A UTF-8 body sent as ``text/plain``."""
    return InferenceRequest(value.encode(), "text/plain")


def raw_request(value: bytes) -> InferenceRequest:
    """A body with no content type (the handler gets a ``bytearray``)."""
    return InferenceRequest(value)


def with_header(request: InferenceRequest) -> InferenceRequest:
    """*request* with the extra header ``X-Probe: 7``."""
    return InferenceRequest(request.body, request.content_type, {"X-Probe": "7"})


def explanation(request: InferenceRequest) -> InferenceRequest:
    """*request* sent to ``/explanations`` instead of ``/predictions``."""
    return InferenceRequest(request.body, request.content_type, request.headers, explain=True)
