"""The model as ``mar run`` loads it: directory, manifest, model-config.yaml and the values
TorchServe's frontend would derive from them (name, handler, batch size).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mar_tools.core.errors import ArchiveError, ModelConfigError
from mar_tools.core.manifest import MANIFEST_PATH, Manifest, load_manifest_json


@dataclass(frozen=True)
class Model:
    """A model directory ready for the worker.

    ``model_yaml_config`` is what the handler sees as ``context.model_yaml_config``: the
    parsed ``configFile`` (None for an empty file), or ``{}`` when the manifest names none.
    """

    model_dir: Path
    manifest: Manifest
    name: str
    handler: str
    model_yaml_config: Any
    config: Mapping[str, Any] = field(default_factory=dict)

    def batch_size(self, requested: int | None) -> int:
        """``--batch-size``, else a positive integer ``batchSize`` from the config, else 1."""
        if requested is not None:
            return requested
        value = self.config.get("batchSize")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return 1


def load_model_files(model_dir: Path, default_name: str, name: str | None = None) -> Model:
    """Read the manifest and the model config of an extracted model.

    Raises :class:`ArchiveError` when the manifest is missing or unusable for ``mar run``
    (no handler, the C++ ``LSP`` runtime) and :class:`ModelConfigError` when the config file
    the manifest names is missing or not YAML.
    """
    manifest_file = model_dir / MANIFEST_PATH
    try:
        payload = manifest_file.read_bytes()
    except FileNotFoundError:
        raise ArchiveError(
            f"{model_dir}: no {MANIFEST_PATH}; this is not a model archive.",
            hint="build the archive with torch-model-archiver.",
        ) from None
    manifest = Manifest.from_mapping(load_manifest_json(payload, source=str(manifest_file)))
    if manifest.runtime == "LSP":
        raise ArchiveError(
            f"{model_dir}: runtime LSP (TorchServe's C++ backend) is not supported by mar run.",
        )
    handler = manifest.model.handler
    if not handler:
        raise ArchiveError(
            f"{manifest_file}: the manifest names no model.handler.",
            hint="rebuild the archive with torch-model-archiver --handler ...",
        )
    yaml_config: Any = {}
    config: Mapping[str, Any] = {}
    if manifest.model.config_file:
        yaml_config = read_yaml(model_dir / manifest.model.config_file, "model config")
        config = yaml_config if isinstance(yaml_config, Mapping) else {}
    return Model(
        model_dir=model_dir,
        manifest=manifest,
        name=name or manifest.model.model_name or default_name,
        handler=handler,
        model_yaml_config=yaml_config,
        config=config,
    )


def read_yaml(path: Path, what: str) -> Any:
    """``yaml.safe_load`` of *path*; :class:`ModelConfigError` when unreadable or invalid."""
    import yaml  # only runs that have a YAML file pay for the import

    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        raise ModelConfigError(f"{path}: the {what} file does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelConfigError(f"{path}: cannot read the {what} file ({exc}).") from exc
    except yaml.YAMLError as exc:
        raise ModelConfigError(f"{path}: the {what} file is not valid YAML: {exc}") from exc
