"""TorchServe's ``model_snapshot`` key: the models to load at start-up, with their settings.

KServe's TorchServe runtime lists its models this way in ``config.properties``::

    model_snapshot={"name":"startup.cfg","modelCount":1,"models":{"mnist":{"1.0":{
        "defaultVersion":true,"marName":"mnist.mar","minWorkers":1,"maxWorkers":5,
        "batchSize":1,"maxBatchDelay":10,"responseTimeout":120}}}}

As in TorchServe, a snapshot with models replaces ``load_models``. Each version is
registered from ``marName`` in the model store under the snapshot's model name, with its
batch size, batch delay and response timeout and ``minWorkers`` workers, then scaled to
``minWorkers``..``maxWorkers``; ``defaultVersion`` chooses the default version. Values of
the wrong type are ignored (the defaults apply), as TorchServe's JSON reader leaves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mar_tools.serve.model_settings import RegisterParams


@dataclass(frozen=True)
class SnapshotModel:
    """One model version of a snapshot."""

    name: str
    version: str
    mar_name: str
    params: RegisterParams
    min_workers: int | None
    max_workers: int | None
    default: bool


def _int(entry: Mapping[str, Any], key: str) -> int | None:
    value = entry.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def snapshot_models(snapshot: Mapping[str, Any]) -> list[SnapshotModel]:
    """The model versions of *snapshot* (see the module docstring), in the file's order."""
    found: list[SnapshotModel] = []
    models = snapshot.get("models")
    if not isinstance(models, Mapping):
        return found
    for name, versions in models.items():
        if not isinstance(versions, Mapping):
            continue
        for version, entry in versions.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("marName"), str):
                continue
            minimum, maximum = _int(entry, "minWorkers"), _int(entry, "maxWorkers")
            params = RegisterParams(
                batch_size=_int(entry, "batchSize"),
                max_batch_delay=_int(entry, "maxBatchDelay"),
                response_timeout=_int(entry, "responseTimeout"),
                initial_workers=minimum,
            )
            found.append(
                SnapshotModel(
                    str(name),
                    str(version),
                    entry["marName"],
                    params,
                    minimum,
                    maximum,
                    entry.get("defaultVersion") is True,
                )
            )
    return found
