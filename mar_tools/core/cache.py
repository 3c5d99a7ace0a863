"""Where mar-tools keeps its caches (extracted archives, per-model environments).

The root is ``$MAR_CACHE_DIR`` when set, else the platform's user cache directory
(``~/.cache/mar-tools`` on Linux). Commands that take ``--cache-dir`` pass it here.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

CACHE_ENV_VAR = "MAR_CACHE_DIR"


def cache_root(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: *override*, else ``$MAR_CACHE_DIR``, else the user cache dir."""
    if override:
        return Path(override).expanduser().absolute()
    from_env = os.environ.get(CACHE_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser().absolute()
    return Path(platformdirs.user_cache_dir("mar-tools", appauthor=False))


def cache_subdir(name: str, override: str | os.PathLike[str] | None = None) -> Path:
    """A named area of the cache (``extracted``, ``envs``); not created here."""
    return cache_root(override) / name
