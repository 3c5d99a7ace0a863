"""The interpreter a worker runs in: what the environment layer hands to the runner."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Interpreter:
    """A Python executable, and what to add to the worker's environment variables.

    The default is the interpreter running mar-tools, with nothing added.
    """

    python: Path = field(default_factory=lambda: Path(sys.executable))
    env: Mapping[str, str] = field(default_factory=dict)
    description: str = "current interpreter"
