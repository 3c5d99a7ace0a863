"""The bundled examples: generated, archived as dev/example does, and (compat) served by
upstream TorchServe 0.12's own Python backend (ts.model_loader + ts.service, no Java)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.archiver.outputs import MANIFEST, ROOT, entries, run_cli, write
from tests.support.upstream import UpstreamUnavailable, torchserve_venv, venv_bin

EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The three example archives, built from freshly generated artifacts."""
    pytest.importorskip("torch")
    build = tmp_path_factory.mktemp("examples-build")
    subprocess.run(
        [sys.executable, str(EXAMPLES / "generate.py"), "--out", str(build)],
        check=True,
        capture_output=True,
    )
    store = build / "model-store"
    recipes = {
        "eager_classifier": [
            "--model-file",
            "model.py",
            "--serialized-file",
            f"{build}/eager_classifier/weights.pt",
            "--handler",
            "handler.py",
            "--extra-files",
            "index_to_name.json",
        ],
        "scripted_fn": [
            "--serialized-file",
            f"{build}/scripted_fn/model.pt",
            "--handler",
            "handler:my_fn",
        ],
        "with_extras": [
            "--model-file",
            "model.py",
            "--serialized-file",
            f"{build}/with_extras/weights.pt",
            "--handler",
            "handler.py",
            "--requirements-file",
            "requirements.txt",
            "--config-file",
            "model-config.yaml",
            "--extra-files",
            f"assets,labels/*.json,{build}/with_extras/tinydep-0.1.0-py3-none-any.whl",
        ],
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, args in recipes.items():
            patch.chdir(EXAMPLES / name)
            outcome = run_cli(
                ["--model-name", name, "-v", "1.0", "--export-path", str(store), *args]
            )
            assert outcome.code == 0, outcome.stderr
    yield store


def generate(out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(EXAMPLES / "generate.py"), "--out", str(out)]
    return subprocess.run(command, check=True, capture_output=True, text=True)


def load_generator(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"generate_{abs(hash(path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_inputs_include_the_vocabulary_that_sets_the_weights(tmp_path: Path) -> None:
    """with_extras' weights are computed from vocab.txt: editing it must regenerate them."""
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("build"))
    generator = load_generator(copy / "generate.py")
    before = generator._inputs_hash("2.0")
    vocabulary = copy / "with_extras" / "assets" / "vocab.txt"
    vocabulary.write_text(vocabulary.read_text() + "extra\n")
    assert generator._inputs_hash("2.0") != before


def test_generator_regenerates_when_an_output_is_missing(tmp_path: Path) -> None:
    generator = load_generator(EXAMPLES / "generate.py")
    for name in generator.OUTPUTS:
        write(tmp_path / name, b"generated")
    (tmp_path / generator.STAMP).write_text("key\n")
    assert generator.up_to_date(tmp_path, "key")
    assert not generator.up_to_date(tmp_path, "another key")
    (tmp_path / generator.OUTPUTS[1]).unlink()
    assert not generator.up_to_date(tmp_path, "key")


def test_generator_is_idempotent(store: Path) -> None:
    build = store.parent
    stamp = (build / ".generated").read_text()
    assert generate(build).stdout == f"examples: up to date in {build}\n"
    assert (build / ".generated").read_text() == stamp


def test_example_archives_hold_what_the_handlers_read(store: Path) -> None:
    assert sorted(entries(store / "eager_classifier.mar")) == [
        MANIFEST,
        "handler.py",
        "index_to_name.json",
        "model.py",
        "weights.pt",
    ]
    assert sorted(entries(store / "scripted_fn.mar")) == [MANIFEST, "handler.py", "model.pt"]
    extras = entries(store / "with_extras.mar")
    assert sorted(extras) == [
        MANIFEST,
        "en.json",
        "fr.json",
        "handler.py",
        "model-config.yaml",
        "model.py",
        "notes/README.txt",
        "requirements.txt",
        "tinydep-0.1.0-py3-none-any.whl",
        "vocab.txt",
        "weights.pt",
    ]
    model = json.loads(extras[MANIFEST])["model"]
    assert (model["requirementsFile"], model["configFile"]) == (
        "requirements.txt",
        "model-config.yaml",
    )
    scripted = json.loads(entries(store / "scripted_fn.mar")[MANIFEST])["model"]
    assert scripted["handler"] == "handler:my_fn"


#: Loads an archive the way TorchServe's worker does and prints one prediction's body.
SERVE = r"""
import json, os, subprocess, sys, tempfile, zipfile
import ts
import ts.service
from ts.metrics.metric_cache_yaml_impl import MetricsCacheYamlImpl
from ts.model_loader import ModelLoaderFactory
answers = []
ts.service.create_predict_response = lambda ret, *args, **kwargs: answers.append(ret)
config = os.path.join(os.path.dirname(ts.__file__), "configs", "metrics.yaml")
for archive, payload in zip(sys.argv[1::2], sys.argv[2::2]):
    model_dir = tempfile.mkdtemp()
    zipfile.ZipFile(archive).extractall(model_dir)
    manifest = json.load(open(os.path.join(model_dir, "MAR-INF", "MANIFEST.json")))
    requirements = manifest["model"].get("requirementsFile")
    if requirements:  # as install_py_dep_per_model: pip -t <model dir>, from the model dir
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "-t",
                        model_dir, "-r", requirements], cwd=model_dir, check=True)
    for name in ("handler", "model", "tinydep"):  # the previous model's modules
        sys.modules.pop(name, None)
    os.chdir(model_dir)
    sys.path.insert(0, model_dir)
    metrics = MetricsCacheYamlImpl(config)
    metrics.initialize_cache()
    service = ModelLoaderFactory.get_model_loader().load(
        manifest["model"]["modelName"], model_dir, manifest["model"]["handler"], None, 1, None,
        True, metrics)
    service.set_cl_socket(None)
    body = bytearray(open(payload, "rb").read())
    service.predict([{"requestId": b"r1", "headers": [],
                      "parameters": [{"name": "body", "contentType": "", "value": body}]}])
    sys.path.remove(model_dir)
print(json.dumps(answers))
"""


@pytest.mark.compat
@pytest.mark.slow
def test_examples_run_in_upstream_torchserve_backend(store: Path, tmp_path: Path) -> None:
    try:
        python = venv_bin(torchserve_venv(), "python")
    except UpstreamUnavailable as exc:
        pytest.skip(f"upstream TorchServe unavailable: {exc}")
    script = tmp_path / "serve.py"
    script.write_text(SERVE)
    cases: dict[str, tuple[Path, Callable[[Any], bool]]] = {
        "eager_classifier": (
            EXAMPLES / "eager_classifier" / "sample_input.json",
            lambda out: out[0]["label"] in {"cat", "dog", "bird"},
        ),
        "scripted_fn": (
            EXAMPLES / "scripted_fn" / "sample_input.json",
            lambda out: out == [[3.0, 5.0, 7.0]],
        ),
        "with_extras": (
            EXAMPLES / "with_extras" / "sample_input.txt",
            lambda out: out[0]["label"] == "positive",
        ),
    }
    command = [str(python), str(script)]
    for name, (payload, _) in cases.items():
        command += [str(store / f"{name}.mar"), str(payload)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    for (name, (_, check)), answer in zip(cases.items(), answers, strict=True):
        assert check(answer), (name, answer)
