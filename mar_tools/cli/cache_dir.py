"""``--cache-dir``: the option of every command that uses the cache (``mar run``, ``mar
env``, ``mar cache``...). A module of its own so that ``mar cache`` imports nothing else."""

from __future__ import annotations

from pathlib import Path

import click

cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache directory (default: $MAR_CACHE_DIR or the user cache dir).",
)
