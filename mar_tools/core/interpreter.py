"""The interpreter a worker runs in: what the environment layer hands to the runner."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Interpreter:
    """A Python executable, and what to add to the worker's environment variables.

    ``inherited_fds`` are descriptors of this process the worker must inherit and hold for
    as long as it runs: the shared lock that marks a per-model environment as in use, so
    that ``mar env prune`` leaves it alone even if ``mar`` itself is killed first. The
    default is the interpreter running mar-tools, with nothing added.
    """

    python: Path = field(default_factory=lambda: Path(sys.executable))
    env: Mapping[str, str] = field(default_factory=dict)
    description: str = "current interpreter"
    inherited_fds: tuple[int, ...] = ()
