"""``mar kserve manifests`` prints documents that KServe's own Python SDK accepts.

Each printed document is loaded into the SDK's model classes (``V1alpha1ServingRuntime`` /
``V1alpha1ClusterServingRuntime``, ``V1beta1InferenceService``; Kubernetes' own types such as
``V1Container`` from the ``kubernetes`` client, which the SDK uses for them): every key must
be a field of its model (a misspelt key fails), values must have the field's type, the
models' own validation must pass (required fields), and writing the models back through
their field maps must give every printed value back (nothing dropped; the SDK may add its
defaults, such as an empty container ``name``). Then the fields KServe needs to wire the two
together are checked.

The SDK is installed without its dependencies (``dev/bootstrap``: its server side pulls in
FastAPI, gRPC, pandas...); its package ``__init__`` imports that server side, so the model
modules are loaded under a bare ``kserve`` package instead. They need only ``six``,
``urllib3`` and ``python-dateutil``.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import types
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mar_tools.cli import cli

PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "float": (float, int),
    "object": (object,),
}


@pytest.fixture(scope="module")
def sdk() -> tuple[Any, Any]:
    """(kserve.models, kubernetes.client.models)."""
    spec = importlib.util.find_spec("kserve")
    assert spec is not None and spec.submodule_search_locations, "dev/bootstrap installs kserve"
    if "kserve" not in sys.modules:
        package = types.ModuleType("kserve")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["kserve"] = package
    models = importlib.import_module("kserve.models")
    k8s = importlib.import_module("kubernetes.client.models")
    return models, k8s


def _load(value: Any, kind: str, sdk: tuple[Any, Any], where: str) -> Any:
    models, k8s = sdk
    # The SDK writes list[X] and dict(str, X); the Kubernetes client List[X], Dict[str, X].
    if kind.startswith(("list[", "List[")):
        assert isinstance(value, list), where
        return [_load(v, kind[5:-1], sdk, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind.startswith(("dict(", "Dict[")):
        assert isinstance(value, dict), where
        inner = kind[5:-1].split(",", 1)[1].strip()
        return {k: _load(v, inner, sdk, f"{where}.{k}") for k, v in value.items()}
    if kind in PRIMITIVES:
        assert isinstance(value, PRIMITIVES[kind]), f"{where}: {value!r} is not {kind}"
        return value
    cls = getattr(models, kind, None) or getattr(k8s, kind)
    assert isinstance(value, dict), f"{where}: {kind} must be a mapping"
    fields = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    unknown = set(value) - set(fields)
    assert not unknown, f"{where}: {kind} has no field {sorted(unknown)}"
    arguments = {
        fields[key]: _load(item, cls.openapi_types[fields[key]], sdk, f"{where}.{key}")
        for key, item in value.items()
    }
    return cls(**arguments)  # the SDK's models raise ValueError for a missing required field


def _dump(value: Any) -> Any:
    """A loaded model back to its document, through the models' own field maps."""
    if isinstance(value, list):
        return [_dump(item) for item in value]
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    if hasattr(value, "attribute_map"):
        return {
            json_key: _dump(getattr(value, attr))
            for attr, json_key in value.attribute_map.items()
            if getattr(value, attr) is not None
        }
    return value


def _assert_kept(dumped: Any, printed: Any, where: str) -> None:
    """Every value of *printed* is in *dumped* (which may have more keys: SDK defaults)."""
    if isinstance(printed, dict):
        assert isinstance(dumped, dict), where
        for key, value in printed.items():
            assert key in dumped, f"{where}.{key} was dropped"
            _assert_kept(dumped[key], value, f"{where}.{key}")
    elif isinstance(printed, list):
        assert isinstance(dumped, list) and len(dumped) == len(printed), where
        for index, (left, right) in enumerate(zip(dumped, printed, strict=True)):
            _assert_kept(left, right, f"{where}[{index}]")
    else:
        assert dumped == printed, f"{where}: {dumped!r} != {printed!r}"


def _documents(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["kserve", "manifests", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return list(yaml.safe_load_all(result.output))


@pytest.mark.parametrize("protocol", ["v1", "v2"])
@pytest.mark.parametrize("cluster", [False, True])
def test_manifests_load_into_the_kserve_sdk(
    sdk: tuple[Any, Any], protocol: str, cluster: bool
) -> None:
    args = ["--image", "registry.example/mar-tools:1", "--storage-uri", "gs://b/store/mnist"]
    args += ["--protocol", protocol] + (["--cluster"] if cluster else [])
    runtime_doc, service_doc = _documents(*args)
    kind = "V1alpha1ClusterServingRuntime" if cluster else "V1alpha1ServingRuntime"
    runtime = _load(runtime_doc, kind, sdk, "runtime")
    service = _load(service_doc, "V1beta1InferenceService", sdk, "service")
    _assert_kept(_dump(runtime), runtime_doc, "runtime")
    _assert_kept(_dump(service), service_doc, "service")
    # What KServe needs to run the service with this runtime.
    assert runtime.kind == ("ClusterServingRuntime" if cluster else "ServingRuntime")
    assert runtime.api_version == "serving.kserve.io/v1alpha1"
    container = runtime.spec.containers[0]
    assert container.name == "kserve-container"  # the predictor container KServe looks for
    assert container.image == "registry.example/mar-tools:1"
    assert container.args[:3] == ["mar", "serve", "--kserve"]
    assert [p.container_port for p in container.ports] == [8080]
    assert protocol in runtime.spec.protocol_versions
    (fmt,) = runtime.spec.supported_model_formats
    assert (fmt.name, fmt.auto_select) == ("pytorch", True)
    model = service.spec.predictor.model
    assert service.api_version == "serving.kserve.io/v1beta1"
    assert service.metadata.name == "mnist"
    assert (model.runtime, model.model_format.name) == (runtime.metadata.name, fmt.name)
    assert (model.protocol_version, model.storage_uri) == (protocol, "gs://b/store/mnist")
    envelope = {"v1": "kserve", "v2": "kservev2"}[protocol]
    assert service.metadata.labels == {"serviceEnvelope": envelope}
    assert container.env[0].to_dict() == {
        "name": "TS_SERVICE_ENVELOPE",
        "value": "{{.Labels.serviceEnvelope}}",
        "value_from": None,
    }


def test_the_sdk_refuses_a_document_missing_a_required_field(sdk: tuple[Any, Any]) -> None:
    """The check above can fail: the SDK's validation is really applied."""
    runtime_doc, service_doc = _documents("--image", "i", "--storage-uri", "s3://b/m.mar")
    model = service_doc["spec"]["predictor"]["model"]
    format_ = model.pop("modelFormat")
    with pytest.raises(ValueError, match="model_format"):
        _load(service_doc, "V1beta1InferenceService", sdk, "service")
    model["modelFormat"] = {**format_, "nmae": "pytorch"}
    with pytest.raises(AssertionError, match="no field"):
        _load(service_doc, "V1beta1InferenceService", sdk, "service")
    del runtime_doc["spec"]["containers"]
    with pytest.raises(ValueError, match="containers"):
        _load(runtime_doc, "V1alpha1ServingRuntime", sdk, "runtime")


def test_names_come_from_the_storage_uri_or_are_refused() -> None:
    _, service = _documents("--image", "i", "--storage-uri", "s3://bucket/My_Model.v2.mar")
    assert service["metadata"]["name"] == "my-model-v2"
    argv = ["kserve", "manifests", "--image", "i", "--storage-uri", "x", "--name", "Bad_Name"]
    done = subprocess.run(
        [sys.executable, "-m", "mar_tools", *argv],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("mar: error: --name 'Bad_Name': not a Kubernetes name")
    assert done.stdout == ""


def test_the_manifests_in_docs_scale_md_are_what_the_command_prints() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "scale.md").read_text()
    console = text.split("$ mar kserve manifests", 1)[1].split("| kubectl", 1)[0]
    args = console.replace("\\\n", " ").split()
    shown = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert list(yaml.safe_load_all(shown)) == _documents(*args)
