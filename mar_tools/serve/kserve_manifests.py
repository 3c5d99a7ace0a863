"""``mar kserve manifests``: a KServe ServingRuntime (or ClusterServingRuntime) running
``mar serve --kserve`` from an image, and an InferenceService serving an archive or a model
store with it.

The runtime takes the place of KServe's TorchServe runtime: it claims the ``pytorch`` model
format, speaks protocols v1 and v2, runs ``mar serve --kserve`` on the storage KServe mounts
at ``/mnt/models`` and answers on KServe's HTTP port 8080, and takes
``TS_SERVICE_ENVELOPE`` from the InferenceService's ``serviceEnvelope`` label, as
KServe's TorchServe runtime does (``kserve`` for v1, ``kservev2`` for v2). Prometheus is
pointed at TorchServe's metrics port, 8082. Values are plain data; the CLI writes YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from mar_tools.core.errors import UsageError

Protocol = Literal["v1", "v2"]
ENVELOPES: dict[str, str] = {"v1": "kserve", "v2": "kservev2"}
HTTP_PORT = 8080
METRICS_PORT = 8082
ROOT = "/mnt/models"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class ManifestOptions:
    """What ``mar kserve manifests`` was asked for."""

    image: str
    storage_uri: str
    protocol: Protocol = "v1"
    name: str | None = None
    runtime_name: str = "mar-tools"
    cluster: bool = False


def service_name(options: ManifestOptions) -> str:
    """The InferenceService's name: ``--name``, else the storage URI's last part made a DNS
    label (lower case, ``-`` for anything else, at most 63 characters)."""
    if options.name is not None:
        name = options.name
    else:
        last = options.storage_uri.rstrip("/").rsplit("/", 1)[-1]
        for suffix in (".mar", ".tar.gz", ".tgz"):
            last = last.removesuffix(suffix)
        name = re.sub(r"[^a-z0-9-]+", "-", last.lower()).strip("-")[:63].strip("-") or "model"
    if not _DNS_LABEL.match(name):
        raise UsageError(
            f"--name {name!r}: not a Kubernetes name (lower-case letters, digits and '-', "
            "at most 63 characters, starting and ending with a letter or digit)."
        )
    return name


def serving_runtime(options: ManifestOptions) -> dict[str, Any]:
    """The ServingRuntime (ClusterServingRuntime with ``cluster``) document."""
    if not _DNS_LABEL.match(options.runtime_name):
        raise UsageError(f"--runtime-name {options.runtime_name!r}: not a Kubernetes name.")
    container = {
        "name": "kserve-container",
        "image": options.image,
        "args": [
            "mar",
            "serve",
            "--kserve",
            f"--kserve-root={ROOT}",
            f"--kserve-address=http://0.0.0.0:{HTTP_PORT}",
            "--disable-token-auth",
        ],
        "env": [{"name": "TS_SERVICE_ENVELOPE", "value": "{{.Labels.serviceEnvelope}}"}],
        "ports": [{"containerPort": HTTP_PORT, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": "1", "memory": "2Gi"},
            "limits": {"cpu": "1", "memory": "2Gi"},
        },
    }
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime" if options.cluster else "ServingRuntime",
        "metadata": {"name": options.runtime_name},
        "spec": {
            "annotations": {
                "prometheus.kserve.io/port": str(METRICS_PORT),
                "prometheus.kserve.io/path": "/metrics",
            },
            "supportedModelFormats": [
                {"name": "pytorch", "version": "1", "autoSelect": True, "priority": 1}
            ],
            "protocolVersions": ["v1", "v2"],
            "containers": [container],
        },
    }


def inference_service(options: ManifestOptions) -> dict[str, Any]:
    """The InferenceService document, using the runtime of :func:`serving_runtime`."""
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": service_name(options),
            "labels": {"serviceEnvelope": ENVELOPES[options.protocol]},
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "pytorch"},
                    "runtime": options.runtime_name,
                    "protocolVersion": options.protocol,
                    "storageUri": options.storage_uri,
                }
            }
        },
    }


def manifests(options: ManifestOptions) -> list[dict[str, Any]]:
    """Both documents: the runtime first (it must exist when the service is created)."""
    return [serving_runtime(options), inference_service(options)]
