"""The values the runner and the ``mar env`` commands exchange with this package."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mar_tools.core.limits import Limits

EnvMode = Literal["auto", "venv", "none"]
InstallerChoice = Literal["auto", "pip", "uv"]


@dataclass(frozen=True)
class EnvOptions:
    """How to pick or build the model's environment (from ``mar run`` / ``mar env`` flags).

    ``mode``: ``auto`` builds an environment when the archive has a requirements file or
    its model-config sets ``useVenv: true``; ``venv`` always; ``none`` never.
    ``installer``: ``auto`` uses uv when it is installed and falls back to pip when uv
    fails; ``pip`` and ``uv`` use only that one. The index options and ``pip_options``
    are passed to the installer as given (paths must be absolute: the installer runs in
    the model directory).
    """

    mode: EnvMode = "auto"
    rebuild: bool = False
    cache_dir: Path | None = None
    installer: InstallerChoice = "auto"
    find_links: tuple[str, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    pip_options: tuple[str, ...] = ()
    #: Accept index-changing options in the archive's requirements
    #: (``--allow-requirements-options``; see :mod:`mar_tools.core.requirements_policy`).
    allow_requirements_options: bool = False
    #: What the archive may expand to when it is read or extracted.
    limits: Limits = field(default_factory=Limits)

    def index_arguments(self) -> list[str]:
        """The index options as installer arguments (the same spelling for pip and uv)."""
        args: list[str] = []
        for link in self.find_links:
            args += ["--find-links", link]
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        return [*args, *self.pip_options]
