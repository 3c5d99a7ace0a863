"""config.properties as TorchServe reads it, and the keys mar serve honours."""

from __future__ import annotations

from pathlib import Path

import pytest

from mar_tools.core.errors import UsageError
from mar_tools.serve.config import Address, ServerConfig, StartFlags, parse_model_specs
from mar_tools.serve.properties import parse_properties


def test_java_properties_rules() -> None:
    text = (
        "# comment\n! also a comment\n  a = 1\nb:2\nc 3\nd=x\\\n   y\ne=tab\\tand\\u00e9\n"
        "f\\=g=h\nempty=\nb=last\n"
    )
    assert parse_properties(text) == {
        "a": "1",
        "b": "last",
        "c": "3",
        "d": "xy",
        "e": "tab\tand\u00e9",
        "f=g": "h",
        "empty": "",
    }


def _config(
    properties: dict[str, str], flags: StartFlags | None = None
) -> tuple[ServerConfig, list[str]]:
    return ServerConfig.from_properties(properties, flags or StartFlags(), Path("/base"))


def test_defaults_are_torchservers() -> None:
    config, warnings = _config({})
    assert warnings == []
    assert config.inference_address == Address("127.0.0.1", 8080)
    assert config.management_address == Address("127.0.0.1", 8081)
    assert config.metrics_address == Address("127.0.0.1", 8082)
    assert (config.job_queue_size, config.default_response_timeout) == (100, 120)
    assert config.max_request_size == config.max_response_size == 6553500
    assert not config.disable_token_authorization and not config.enable_model_api
    assert config.allowed_urls == ("file://.*",)
    assert config.workers_per_model(cpu_count=4, gpu_count=0) == 4
    assert config.workers_per_model(cpu_count=4, gpu_count=2) == 2


def test_keys_and_flags() -> None:
    config, warnings = _config(
        {
            "inference_address": "http://0.0.0.0:9090",
            "model_store": "store",
            "load_models": "a.mar, b=b.mar",
            "models": '{"a": {"1.0": {"batchSize": 4}}}',
            "default_workers_per_model": "3",
            "service_envelope": "kserve",
            "allowed_urls": "https://example.invalid/.*,file://.*",
            "disable_token_authorization": "TRUE",
        },
        StartFlags(models=("c=c.mar",), enable_model_api=True),
    )
    assert warnings == []
    assert config.inference_address == Address("0.0.0.0", 9090)
    assert config.model_store == Path("/base/store")
    assert config.load_models == ("c=c.mar",)  # the flag wins
    assert config.models == {"a": {"1.0": {"batchSize": 4}}}
    assert config.workers_per_model(8, 0) == 3
    assert config.service_envelope == "kserve"
    assert config.allowed_urls == ("https://example.invalid/.*", "file://.*")
    assert config.disable_token_authorization and config.enable_model_api


def test_one_warning_per_key_not_honoured() -> None:
    _, warnings = _config({"vmargs": "-Xmx1g", "nonsense": "1", "number_of_netty_threads": "4"})
    assert warnings == [
        "config.properties: vmargs has no effect in mar serve.",
        "config.properties: unknown key 'nonsense' ignored.",
        "config.properties: number_of_netty_threads has no effect in mar serve.",
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("job_queue_size", "lots", "job_queue_size='lots' is not an integer."),
        ("inference_address", "localhost", "is not an address"),
        ("inference_address", "https://127.0.0.1:8443", "https is not supported"),
        ("service_envelope", "xml", "service_envelope='xml' is not one of"),
        ("models", "[1]", "must be a JSON object"),
    ],
)
def test_bad_values_are_usage_errors(key: str, value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("[", r"\[")):
        _config({key: value})


def test_model_specs() -> None:
    assert parse_model_specs(["a=a.mar", "b.mar", "all"]) == [
        ("a", "a.mar"),
        (None, "b.mar"),
        (None, "all"),
    ]


def test_environment_variables_override_only_with_enable_envvars_config() -> None:
    environ = {"TS_SERVICE_ENVELOPE": "kservev2", "TS_JOB_QUEUE_SIZE": "7", "TS_NOT_A_KEY": "x"}
    on, _ = ServerConfig.from_properties(
        {"enable_envvars_config": "true", "service_envelope": "json"},
        StartFlags(),
        Path("/w"),
        environ,
    )
    assert (on.service_envelope, on.job_queue_size) == ("kservev2", 7)
    off, _ = ServerConfig.from_properties(
        {"service_envelope": "json"}, StartFlags(), Path("/w"), environ
    )
    assert (off.service_envelope, off.job_queue_size) == ("json", 100)


def test_model_snapshot_lists_the_startup_models() -> None:
    from mar_tools.serve.snapshot import snapshot_models

    text = (
        '{"name":"startup.cfg","modelCount":2,"models":{"mnist":{"1.0":{"defaultVersion":true,'
        '"marName":"mnist.mar","minWorkers":1,"maxWorkers":5,"batchSize":4,"maxBatchDelay":200,'
        '"responseTimeout":60}},"bad":{"1.0":{"minWorkers":1}}}}'
    )
    config, warnings = ServerConfig.from_properties(
        {"model_snapshot": text}, StartFlags(), Path("/w")
    )
    assert warnings == []
    (model,) = snapshot_models(config.model_snapshot)
    assert (model.name, model.version, model.mar_name, model.default) == (
        "mnist",
        "1.0",
        "mnist.mar",
        True,
    )
    assert (model.min_workers, model.max_workers) == (1, 5)
    assert (model.params.batch_size, model.params.max_batch_delay) == (4, 200)
    assert (model.params.response_timeout, model.params.initial_workers) == (60, 1)
