"""One broken model, four commands: ``mar validate``, ``mar run``, ``mar env create`` and
``mar inspect`` read every model through the core's model source, so each broken model gets
each command's documented exit code (validate 1, run, env and inspect 3: see
docs/architecture.md) and the same message, in a .mar zip, a .tar.gz and a directory alike.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mar_tools.core.manifest import MANIFEST_PATH

MAR = Path(sys.executable).with_name("mar")
HANDLER = "def handle(data, context):\n    return data\n"
GOOD_MODEL = {"modelName": "m", "handler": "h.py", "modelVersion": "1.0"}
FORMATS = ("zip", "tgz", "directory")


def manifest(**model: Any) -> str:
    fields = {k: v for k, v in {**GOOD_MODEL, **model}.items() if v is not None}
    document = {"createdOn": "01/01/2025 00:00:00", "runtime": "python", "model": fields}
    document["archiverVersion"] = "0.12.0"
    return json.dumps(document, indent=2)


@dataclass(frozen=True)
class Broken:
    """A broken model: its files, the code ``mar validate`` reports, and the message."""

    name: str
    files: Mapping[str, str]
    code: str
    message: str


CASES = (
    Broken("no manifest", {"h.py": HANDLER}, "manifest.missing",
           "MAR-INF/MANIFEST.json is not in the archive."),
    Broken("manifest not JSON", {"h.py": HANDLER, MANIFEST_PATH: "{not json"},
           "manifest.invalid-json", "MAR-INF/MANIFEST.json is not valid JSON: Expecting "
           "property name enclosed in double quotes."),
    Broken("manifest not an object", {"h.py": HANDLER, MANIFEST_PATH: "[1, 2]"},
           "manifest.invalid-json", "MAR-INF/MANIFEST.json holds a JSON list, not an object."),
    Broken("no model object", {"h.py": HANDLER, MANIFEST_PATH: '{"runtime": "python"}'},
           "manifest.schema", "the manifest has no model object (TorchServe: 'Missing Model "
           "entry in manifest file.')."),
    Broken("no handler", {"h.py": HANDLER, MANIFEST_PATH: manifest(handler=None)},
           "manifest.schema",
           "model.handler is missing; TorchServe cannot load a model without a handler."),
    Broken("empty handler", {"h.py": HANDLER, MANIFEST_PATH: manifest(handler="")},
           "manifest.schema",
           "model.handler is empty; TorchServe cannot load a model without a handler."),
    Broken("missing serialized file",
           {"h.py": HANDLER, MANIFEST_PATH: manifest(serializedFile="w.pt")},
           "manifest.missing-file", "model.serializedFile names 'w.pt', which is not in the "
           "archive."),
    Broken("missing model file",
           {"h.py": HANDLER, MANIFEST_PATH: manifest(modelFile="model.py")},
           "manifest.missing-file", "model.modelFile names 'model.py', which is not in the "
           "archive."),
    Broken("missing requirements file",
           {"h.py": HANDLER, MANIFEST_PATH: manifest(requirementsFile="requirements.txt")},
           "manifest.missing-file", "model.requirementsFile names 'requirements.txt', which is "
           "not in the archive."),
    Broken("missing config file",
           {"h.py": HANDLER, MANIFEST_PATH: manifest(configFile="model-config.yaml")},
           "manifest.missing-file", "model.configFile names 'model-config.yaml', which is not "
           "in the archive."),
    Broken("unsafe serialized file",
           {"h.py": HANDLER, MANIFEST_PATH: manifest(serializedFile="../w.pt")},
           "manifest.unsafe-reference",
           "model.serializedFile '../w.pt' is unsafe ('..' path component)."),
    Broken("config not YAML",
           {"h.py": HANDLER, "c.yaml": "batchSize: [1\n",
            MANIFEST_PATH: manifest(configFile="c.yaml")},
           "config.invalid-yaml", "c.yaml is not valid YAML: while parsing a flow sequence "
           "expected ',' or ']', but got '<stream end>'."),
    Broken("config empty",
           {"h.py": HANDLER, "c.yaml": "", MANIFEST_PATH: manifest(configFile="c.yaml")},
           "config.not-mapping",
           "c.yaml is empty, not a mapping (TorchServe refuses to register the model)."),
    Broken("config a list",
           {"h.py": HANDLER, "c.yaml": "- 1\n", MANIFEST_PATH: manifest(configFile="c.yaml")},
           "config.not-mapping",
           "c.yaml is a list, not a mapping (TorchServe refuses to register the model)."),
)  # fmt: skip


def build(root: Path, case: Broken, fmt: str) -> Path:
    """Write *case* as a model in format *fmt* under *root*; return what to pass to mar."""
    if fmt == "directory":
        model = root / "model"
        for name, text in case.files.items():
            (model / name).parent.mkdir(parents=True, exist_ok=True)
            (model / name).write_text(text)
        return model
    if fmt == "zip":
        target = root / "model.mar"
        with zipfile.ZipFile(target, "w") as archive:
            for name, text in case.files.items():
                archive.writestr(name, text)
        return target
    target = root / "model.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        for name, text in case.files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"model/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def mar(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "MAR_CACHE_DIR": str(cache), "COLUMNS": "200"}
    env.pop("MAR_DEBUG", None)
    return subprocess.run(
        [str(MAR), *map(str, args)], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_command_refuses_a_broken_model_with_the_same_message(
    tmp_path: Path, case: Broken, fmt: str
) -> None:
    path = build(tmp_path, case, fmt)
    cache = tmp_path / "cache"

    validated = mar("validate", path, "--format", "json", cache=cache)
    ran = mar("run", path, "--data", "x", cache=cache)
    created = mar("env", "create", path, cache=cache)
    inspected = mar("inspect", path, cache=cache)

    assert validated.returncode == 1, validated.stderr
    report = json.loads(validated.stdout)
    errors = [f for f in report["archives"][0]["findings"] if f["severity"] == "error"]
    assert [(f["code"], f["message"]) for f in errors] == [(case.code, case.message)]
    for done in (ran, created, inspected):
        assert done.returncode == 3, done.stderr
        first = done.stderr.splitlines()[0]
        assert first.startswith(f"mar: error: {path}: {case.message.rstrip('.')}"), first
        assert "Traceback" not in done.stderr and done.stdout == ""
    # Nothing was extracted or built for a model that cannot be used.
    assert not (cache / "envs").exists() or not any((cache / "envs").iterdir())
