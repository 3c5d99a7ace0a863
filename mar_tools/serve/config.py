"""The server's configuration: TorchServe's ``config.properties`` keys and start flags.

:meth:`ServerConfig.from_properties` reads the keys ``mar serve`` honours, with TorchServe
0.12's defaults, and returns one warning per key it does not honour: a TorchServe key that
has no effect here (JVM, gRPC, TLS, Netty tuning...) or a key TorchServe does not know
either. A bad value (``job_queue_size=lots``) is a :class:`UsageError`, as it stops
TorchServe too. Start flags (``--model-store``, ``--models``, ``--disable-token-auth``,
``--enable-model-api``) override the file, as in TorchServe.

Deliberate differences from TorchServe, each documented in docs/serve.md:

* ``allowed_urls`` defaults to the model store only (``file://.*``): registering an http(s)
  URL needs an explicit pattern (TorchServe allows any URL by default: CVE-2023-43654).
* ``metrics_mode`` defaults to ``prometheus`` (TorchServe: ``log``, which leaves ``/metrics``
  empty); ``log`` keeps ``/metrics`` empty here too.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mar_tools.core.errors import UsageError
from mar_tools.serve.properties import parse_properties

#: Keys TorchServe 0.12 reads that change nothing in ``mar serve`` (one warning each).
IGNORED_KEYS = frozenset(
    {
        "vmargs", "number_of_netty_threads", "netty_client_threads", "grpc_inference_port",
        "grpc_management_port", "grpc_inference_address", "grpc_management_address",
        "enable_grpc_ssl", "keystore", "keystore_pass", "keystore_type", "certificate_file",
        "private_key_file", "async_logging", "prefer_direct_buffer", "model_server_home",
        "initial_worker_port", "initial_distribution_port", "workflow_store", "cpp_log_config",
        "use_native_io", "io_ratio", "metric_time_interval",
        "version", "system_metrics_cmd", "use_env_allowed_urls", "debug",
        "cpu_launcher_enable", "cpu_launcher_args", "ipex_enable", "ipex_gpu_enable",
        "disable_system_metrics", "python", "plugins_path", "ts_header_key_sequence_id",
        "ts_header_key_sequence_start", "ts_header_key_sequence_end",
        "grpc_inference_max_connection_age_ms", "grpc_management_max_connection_age_ms",
        "grpc_inference_max_connection_age_grace_ms", "grpc_management_max_connection_age_grace_ms",
    }
)  # fmt: skip
#: Keys ``mar serve`` honours (see :class:`ServerConfig`).
KNOWN_KEYS = frozenset(
    {
        "inference_address", "management_address", "metrics_address", "model_store",
        "load_models", "models", "default_workers_per_model", "number_of_gpu", "job_queue_size",
        "default_response_timeout", "default_startup_timeout", "unregister_model_timeout",
        "max_request_size", "max_response_size", "service_envelope", "metrics_config",
        "metrics_mode", "model_metrics_auto_detect", "install_py_dep_per_model",
        "disable_token_authorization", "enable_model_api", "allowed_urls",
        "cors_allowed_origin", "cors_allowed_methods", "cors_allowed_headers",
        "decode_input_request", "limit_max_image_pixels", "default_service_handler",
        "ts_open_inference_protocol", "token_expiration_min", "blacklist_env_vars",
        "enable_metrics_api", "enable_envvars_config", "model_snapshot",
        "ray_autoscaling", "ray_deployment_options", "ray_cpus_per_worker",
    }
)  # fmt: skip
ENVELOPES = ("body", "json", "kserve", "kservev2")
_ADDRESS = re.compile(r"^(?P<scheme>https?)://(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>\d+))?/?$")


@dataclass(frozen=True)
class Address:
    """Where one API listens."""

    host: str
    port: int

    @classmethod
    def parse(cls, key: str, text: str) -> Address:
        """``http://HOST:PORT`` (TorchServe's form); https needs TLS, which is not supported."""
        match = _ADDRESS.match(text.strip())
        if match is None:
            raise UsageError(f"{key}={text!r} is not an address like http://127.0.0.1:8080.")
        if match["scheme"] == "https":
            raise UsageError(
                f"{key}={text}: https is not supported by mar serve.",
                hint="serve http on 127.0.0.1 and terminate TLS in a reverse proxy.",
            )
        host = match["host"].strip("[]")
        port = int(match["port"]) if match["port"] else 80
        return cls(host, port)

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class StartFlags:
    """TorchServe's start flags, as given on the command line (None: not given)."""

    model_store: Path | None = None
    models: tuple[str, ...] = ()
    disable_token_auth: bool = False
    enable_model_api: bool = False


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs from ``config.properties`` and the start flags."""

    inference_address: Address = Address("127.0.0.1", 8080)
    management_address: Address = Address("127.0.0.1", 8081)
    metrics_address: Address = Address("127.0.0.1", 8082)
    model_store: Path | None = None
    load_models: tuple[str, ...] = ()
    models: Mapping[str, Any] = field(default_factory=dict)
    default_workers_per_model: int | None = None
    number_of_gpu: int | None = None
    job_queue_size: int = 100
    default_response_timeout: int = 120
    default_startup_timeout: int = 120
    unregister_model_timeout: int = 120
    max_request_size: int = 6553500
    max_response_size: int = 6553500
    service_envelope: str | None = None
    metrics_config: Path | None = None
    metrics_mode: str = "prometheus"
    model_metrics_auto_detect: bool = False
    enable_metrics_api: bool = True
    install_py_dep_per_model: bool = False
    disable_token_authorization: bool = False
    enable_model_api: bool = False
    allowed_urls: tuple[str, ...] = ("file://.*",)
    cors: Mapping[str, str] = field(default_factory=dict)
    decode_input_request: bool = True
    limit_max_image_pixels: bool = True
    default_service_handler: str | None = None
    open_inference_protocol: bool = False
    token_expiration_min: float = 60.0
    blacklist_env_vars: str | None = None
    #: ``--engine ray`` only (docs/scale.md): merged into each deployment's Ray Serve
    #: ``autoscaling_config`` / deployment options; logical CPUs each replica reserves.
    ray_autoscaling: Mapping[str, Any] = field(default_factory=dict)
    ray_deployment_options: Mapping[str, Any] = field(default_factory=dict)
    ray_cpus_per_worker: float = 1.0
    #: TorchServe's snapshot format (``{"models": {name: {version: {"marName", "minWorkers",
    #: "maxWorkers", "batchSize", "maxBatchDelay", "responseTimeout", "defaultVersion"}}}}``):
    #: the models to load at start-up instead of ``load_models`` (KServe's TorchServe layout).
    model_snapshot: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        path: Path | None,
        flags: StartFlags,
        base_dir: Path,
        defaults: Mapping[str, str] | None = None,
    ) -> tuple[ServerConfig, list[str]]:
        """Read *path* (``--ts-config``; None: *defaults* only) and apply *flags*.

        Relative paths in the file resolve against *base_dir* (the working directory, as in
        TorchServe). Returns the configuration and one warning per key not honoured.
        """
        properties: dict[str, str] = dict(defaults or {})
        if path is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"--ts-config {path}: cannot read ({exc.strerror}).") from exc
            properties.update(parse_properties(text))
        return cls.from_properties(properties, flags, base_dir)

    @classmethod
    def from_properties(
        cls,
        properties: Mapping[str, str],
        flags: StartFlags,
        base_dir: Path,
        environ: Mapping[str, str] | None = None,
    ) -> tuple[ServerConfig, list[str]]:
        """The configuration for parsed *properties* (see :meth:`load`).

        With ``enable_envvars_config=true``, an environment variable ``TS_<KEY>`` (*environ*,
        default ``os.environ``) overrides key ``<key>``, as in TorchServe: KServe sets
        ``TS_SERVICE_ENVELOPE`` this way.
        """
        properties = _with_environment(properties, os.environ if environ is None else environ)
        warnings = []
        for key in properties:
            if key in IGNORED_KEYS:
                warnings.append(f"config.properties: {key} has no effect in mar serve.")
            elif key not in KNOWN_KEYS:
                warnings.append(f"config.properties: unknown key {key!r} ignored.")
        values = _Values(properties)
        store = flags.model_store or values.path("model_store", base_dir)
        load_models = flags.models or tuple(
            item.strip() for item in values.text("load_models", "").split(",") if item.strip()
        )
        envelope = values.text("service_envelope", "") or None
        if envelope is not None and envelope not in ENVELOPES:
            raise UsageError(f"service_envelope={envelope!r} is not one of {', '.join(ENVELOPES)}.")
        mode = values.text("metrics_mode", "prometheus").lower()
        if mode not in ("log", "prometheus"):
            raise UsageError(f"metrics_mode={mode!r} is not log or prometheus.")
        allowed = values.text("allowed_urls", "")
        config = cls(
            inference_address=values.address("inference_address", "http://127.0.0.1:8080"),
            management_address=values.address("management_address", "http://127.0.0.1:8081"),
            metrics_address=values.address("metrics_address", "http://127.0.0.1:8082"),
            model_store=store,
            load_models=load_models,
            models=values.json("models", "object of models"),
            default_workers_per_model=values.integer("default_workers_per_model", None),
            number_of_gpu=values.integer("number_of_gpu", None),
            job_queue_size=values.integer("job_queue_size", 100) or 100,
            default_response_timeout=values.integer("default_response_timeout", 120) or 120,
            default_startup_timeout=values.integer("default_startup_timeout", 120) or 120,
            unregister_model_timeout=values.integer("unregister_model_timeout", 120) or 120,
            max_request_size=values.integer("max_request_size", 6553500) or 6553500,
            max_response_size=values.integer("max_response_size", 6553500) or 6553500,
            service_envelope=envelope,
            metrics_config=values.path("metrics_config", base_dir),
            metrics_mode=mode,
            model_metrics_auto_detect=values.boolean("model_metrics_auto_detect", False),
            enable_metrics_api=values.boolean("enable_metrics_api", True),
            install_py_dep_per_model=values.boolean("install_py_dep_per_model", False),
            disable_token_authorization=flags.disable_token_auth
            or values.boolean("disable_token_authorization", False),
            enable_model_api=flags.enable_model_api or values.boolean("enable_model_api", False),
            allowed_urls=tuple(p for p in allowed.split(",") if p) or ("file://.*",),
            cors={
                name: properties[f"cors_allowed_{name}"]
                for name in ("origin", "methods", "headers")
                if properties.get(f"cors_allowed_{name}")
            },
            decode_input_request=values.boolean("decode_input_request", True),
            limit_max_image_pixels=values.boolean("limit_max_image_pixels", True),
            default_service_handler=values.text("default_service_handler", "") or None,
            open_inference_protocol=_open_inference_protocol(values),
            token_expiration_min=values.number("token_expiration_min", 60.0),
            blacklist_env_vars=values.text("blacklist_env_vars", "") or None,
            ray_autoscaling=values.json("ray_autoscaling", "object"),
            ray_deployment_options=values.json("ray_deployment_options", "object"),
            ray_cpus_per_worker=values.number("ray_cpus_per_worker", 1.0),
            model_snapshot=values.json("model_snapshot", "object (TorchServe's snapshot)"),
        )
        return config, warnings

    def workers_per_model(self, cpu_count: int, gpu_count: int) -> int:
        """``default_workers_per_model``, else TorchServe's default: one per GPU, else per CPU."""
        if self.default_workers_per_model is not None and self.default_workers_per_model > 0:
            return self.default_workers_per_model
        return gpu_count if gpu_count > 0 else max(1, cpu_count)


def _with_environment(
    properties: Mapping[str, str], environ: Mapping[str, str]
) -> Mapping[str, str]:
    if properties.get("enable_envvars_config", "").strip().lower() != "true":
        return properties
    merged = dict(properties)
    for name, value in environ.items():
        key = name[3:].lower()
        if name.startswith("TS_") and key in KNOWN_KEYS:
            merged[key] = value
    return merged


def _open_inference_protocol(values: _Values) -> bool:
    # TorchServe lets the environment variable win over the file.
    env = os.environ.get("TS_OPEN_INFERENCE_PROTOCOL")
    if env:
        return env == "oip"
    return values.boolean("ts_open_inference_protocol", False)


class _Values:
    """Typed access to the properties, raising :class:`UsageError` for a bad value."""

    def __init__(self, properties: Mapping[str, str]) -> None:
        self._properties = properties

    def text(self, key: str, default: str) -> str:
        return self._properties.get(key, default).strip()

    def integer(self, key: str, default: int | None) -> int | None:
        raw = self._properties.get(key)
        if raw is None or not raw.strip():
            return default
        try:
            return int(raw.strip())
        except ValueError:
            raise UsageError(f"{key}={raw!r} is not an integer.") from None

    def number(self, key: str, default: float) -> float:
        raw = self._properties.get(key)
        if raw is None or not raw.strip():
            return default
        try:
            return float(raw.strip())
        except ValueError:
            raise UsageError(f"{key}={raw!r} is not a number.") from None

    def boolean(self, key: str, default: bool) -> bool:
        raw = self._properties.get(key)
        if raw is None:
            return default
        # Java's Boolean.parseBoolean: "true" in any case is true, everything else false.
        return raw.strip().lower() == "true"

    def path(self, key: str, base: Path) -> Path | None:
        raw = self.text(key, "")
        return (base / raw) if raw else None

    def address(self, key: str, default: str) -> Address:
        return Address.parse(key, self.text(key, default))

    def json(self, key: str, what: str) -> Mapping[str, Any]:
        raw = self.text(key, "")
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise UsageError(f"{key}: not valid JSON ({exc}).") from None
        if not isinstance(value, dict):
            raise UsageError(f"{key}: must be a JSON {what}.")
        return value


def parse_model_specs(items: Sequence[str]) -> list[tuple[str | None, str]]:
    """``--models`` / ``load_models`` items as ``(name or None, url)``; ``all`` stays ``all``."""
    specs: list[tuple[str | None, str]] = []
    for item in items:
        name, sep, url = item.partition("=")
        specs.append((name.strip(), url.strip()) if sep else (None, item.strip()))
    return specs
