"""Per-model Python environments for ``mar run`` (interface; the implementation grows here).

The runner asks :func:`prepare_environment` which interpreter to start the worker with.
Today it always answers "the current interpreter"; the per-model virtualenv cache
replaces the body without changing this signature.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mar_tools.manifest import Manifest

EnvMode = Literal["auto", "venv", "none"]
Installer = Literal["auto", "pip", "uv"]


@dataclass(frozen=True)
class EnvOptions:
    """How to pick or build the model's environment (from ``mar run`` / ``mar env`` flags)."""

    mode: EnvMode = "auto"
    rebuild: bool = False
    cache_dir: Path | None = None
    installer: Installer = "auto"
    find_links: tuple[str, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    pip_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Interpreter:
    """The interpreter a worker runs in, and what to add to its environment variables."""

    python: Path
    env: Mapping[str, str] = field(default_factory=dict)
    description: str = "current interpreter"


def prepare_environment(
    model_dir: Path,
    manifest: Manifest,
    model_config: Mapping[str, Any],
    options: EnvOptions,
    log: Callable[[str], None] = lambda _message: None,
) -> Interpreter:
    """Return the interpreter for the model extracted at *model_dir*."""
    del model_dir, manifest, model_config, options, log  # used by the venv implementation
    return Interpreter(python=Path(sys.executable))
