"""Model directories and archives for the environment tests, written on the spot."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from mar_tools.core.manifest import MANIFEST_PATH, Manifest, ModelInfo

#: A handler that reports what the model's interpreter sees.
HANDLER = "def handle(data, context):\n    return [str(len(data))]\n"


@dataclass(frozen=True)
class Model:
    """A model directory on disk, as ``mar run`` extracts it."""

    root: Path
    manifest: Manifest
    config: Mapping[str, object]

    def archive(self, target: Path) -> Path:
        """Zip the model directory into a ``.mar`` at *target* (manifest last)."""
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(self.root.rglob("*")):
                if path.is_file() and path != self.root / MANIFEST_PATH:
                    archive.write(path, path.relative_to(self.root).as_posix())
            archive.writestr("MAR-INF/MANIFEST.json", self.manifest.render())
        return target


def make_model(
    root: Path,
    *,
    name: str = "demo",
    requirements: str | None = None,
    files: Mapping[str, bytes | str] | None = None,
    config: Mapping[str, object] | None = None,
    runtime: str = "python",
) -> Model:
    """Write a model directory: a handler, an optional requirements.txt and model-config."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "handler.py").write_text(HANDLER)
    for rel, content in (files or {}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    if requirements is not None:
        (root / "requirements.txt").write_text(requirements)
    if config is not None:
        (root / "model-config.yaml").write_text(yaml.safe_dump(dict(config)))
    info = ModelInfo(
        model_name=name,
        handler="handler.py",
        model_version="1.0",
        requirements_file="requirements.txt" if requirements is not None else None,
        config_file="model-config.yaml" if config is not None else None,
    )
    manifest = Manifest(runtime=runtime, model=info, archiver_version="0.12.0")
    (root / MANIFEST_PATH).parent.mkdir(exist_ok=True)
    (root / MANIFEST_PATH).write_text(manifest.render())
    return Model(root, manifest, dict(config or {}))


def manifest_json(model: Model) -> str:
    return json.dumps(model.manifest.to_dict())
