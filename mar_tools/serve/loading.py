"""An archive made ready for workers: extracted, read, its environment chosen.

:func:`prepare_model` does what TorchServe does at registration before any worker starts,
with ``mar run``'s machinery: safe extraction into the content-keyed cache (a directory
model is used in place), the manifest and ``model-config.yaml`` read through the core's
model source, the interpreter (a cached per-model virtualenv when
``install_py_dep_per_model`` is on and the model needs one, else this one), and the worker's
``load`` message. It blocks (extraction, environment builds): the server runs it in a thread.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mar_tools.core.archive import detect_format
from mar_tools.core.cache import cache_subdir
from mar_tools.core.errors import ArchiveError
from mar_tools.core.extraction import prepare_model_dir
from mar_tools.core.model_files import ModelFiles
from mar_tools.core.model_source import ModelSource, read_model
from mar_tools.core.reporter import Reporter
from mar_tools.env import EnvMode, EnvOptions, prepare_environment
from mar_tools.run.process import COMPAT_DIR, worker_environment
from mar_tools.run.runner import default_model_name
from mar_tools.run.yaml_file import read_yaml
from mar_tools.worker.messages import LoadRequest

DEFAULT_METRICS_CONFIG = COMPAT_DIR / "ts" / "configs" / "metrics.yaml"


@dataclass(frozen=True)
class PreparedModel:
    """Everything a worker pool needs to start workers of one model version.

    ``load`` is the worker's load message for the CPU; the pool sets each worker's device.
    """

    model: ModelSource
    name: str
    model_dir: Path
    archive: Path
    python: Path
    env: dict[str, str]
    load: LoadRequest

    @property
    def version(self) -> str:
        """The manifest's ``modelVersion``, or TorchServe's default ``1.0``."""
        return self.model.manifest.model.model_version or "1.0"


@dataclass(frozen=True)
class LoadOptions:
    """Server-wide settings that shape every model's workers."""

    envelope: str | None = None
    metrics_config: Path | None = None
    install_dependencies: bool = False
    decode_input_request: bool = True
    limit_max_image_pixels: bool = True
    blacklist_env_vars: str | None = None
    default_handler: str | None = None
    cache_dir: Path | None = None


def prepare_model(
    archive: Path,
    name: str | None,
    handler: str | None,
    options: LoadOptions,
    reporter: Reporter,
) -> PreparedModel:
    """Extract and read *archive*, choose its interpreter, build its ``load`` message.

    Raises the core's ``ArchiveError`` (``BrokenModel`` for a broken manifest or config) and
    the environment's ``EnvironmentSetupError`` when its environment cannot be built.
    """
    fmt = detect_format(archive)
    extracted = prepare_model_dir(
        archive, cache_subdir("extracted", options.cache_dir), reporter=reporter
    )
    model = read_model(ModelFiles.directory(extracted.model_dir), str(archive), fmt)
    if model.manifest.runtime == "LSP":
        raise ArchiveError(
            f"{archive}: runtime LSP (TorchServe's C++ backend) is not supported by mar serve."
        )
    handler = handler or model.handler or options.default_handler or ""
    mode: EnvMode = "auto" if options.install_dependencies else "none"
    interpreter = prepare_environment(
        model, extracted.model_dir, EnvOptions(mode=mode, cache_dir=options.cache_dir), reporter
    )
    base = _filtered_environment(options.blacklist_env_vars)
    env = worker_environment(base, interpreter.env, extracted.model_dir, handler)
    env["TS_DECODE_INPUT_REQUEST"] = "true" if options.decode_input_request else "false"
    metrics_path = (options.metrics_config or DEFAULT_METRICS_CONFIG).absolute()
    model_name = model.name(default_model_name(archive), name)
    load = LoadRequest(
        model_name=model_name,
        model_dir=str(extracted.model_dir),
        handler=handler,
        device="cpu",
        device_index=None,
        device_flag="--device cpu",
        batch_size=1,  # the registry sets the model's batch size
        envelope=options.envelope,
        limit_max_image_pixels=options.limit_max_image_pixels,
        metrics_config=str(metrics_path),
        metrics_document=read_yaml(metrics_path, "metrics config"),
        model_yaml_config=model.model_yaml_config,
        manifest=model.manifest.raw,
        stream_live=True,
    )
    return PreparedModel(
        model, model_name, extracted.model_dir, archive, interpreter.python, env, load
    )


def _filtered_environment(pattern: str | None) -> dict[str, str]:
    """This process's environment less the ``blacklist_env_vars`` matches (as TorchServe)."""
    env = dict(os.environ)
    if pattern:
        regex = re.compile(pattern)
        env = {key: value for key, value in env.items() if not regex.fullmatch(key)}
    return env
