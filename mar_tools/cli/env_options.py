"""Click options that choose and build a model's environment, shared by ``mar run`` and
``mar env``. Apply :func:`environment_options` to a command, then build the library's
:class:`EnvOptions` with :func:`env_options_from`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from mar_tools.cli.cache_dir import cache_dir_option
from mar_tools.cli.limit_options import limits_from
from mar_tools.core.limits import Limits
from mar_tools.env import EnvOptions

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["cache_dir_option", "env_options_from", "environment_options"]


def environment_options(func: F) -> F:
    """Add ``--env``, ``--rebuild-env``, ``--cache-dir``, the pip pass-through options and
    ``--allow-requirements-options``."""
    options = [
        click.option(
            "--env",
            "env_mode",
            type=click.Choice(["auto", "venv", "none"]),
            default="auto",
            show_default=True,
            help="Per-model virtualenv: auto = when the archive has requirements or useVenv.",
        ),
        click.option("--rebuild-env", is_flag=True, help="Rebuild the model's environment."),
        cache_dir_option,
        click.option(
            "--installer",
            type=click.Choice(["auto", "pip", "uv"]),
            default="auto",
            show_default=True,
            help="Installer for per-model environments: auto = uv when installed (pip if uv "
            "fails), else pip.",
        ),
        click.option(
            "--find-links",
            multiple=True,
            metavar="PATH|URL",
            help="Passed to the installer (repeatable).",
        ),
        click.option("--index-url", default=None, metavar="URL", help="Passed to the installer."),
        click.option(
            "--extra-index-url",
            multiple=True,
            metavar="URL",
            help="Passed to the installer (repeatable).",
        ),
        click.option(
            "--allow-requirements-options",
            is_flag=True,
            help="Let the archive's requirements choose the package index (--index-url, "
            "--extra-index-url, --trusted-host, --find-links URL); refused by default.",
        ),
        click.option(
            "--pip-option",
            multiple=True,
            metavar="OPTION",
            help="Extra installer argument, e.g. --pip-option=--no-index (repeatable).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def env_options_from(params: Mapping[str, Any]) -> EnvOptions:
    """Build :class:`EnvOptions` from the keyword arguments click passed to the command.

    Local ``--find-links`` directories are made absolute: the installer runs in the model
    directory, not where the user typed the command.
    """
    return EnvOptions(
        mode=params["env_mode"],
        rebuild=bool(params["rebuild_env"]),
        cache_dir=cast("Path | None", params["cache_dir"]),
        installer=params["installer"],
        find_links=tuple(_absolute_location(link) for link in params["find_links"]),
        index_url=params["index_url"],
        extra_index_urls=tuple(params["extra_index_url"]),
        pip_options=tuple(params["pip_option"]),
        allow_requirements_options=bool(params["allow_requirements_options"]),
        limits=limits_from(params) if "max_size" in params else Limits(),
    )


def _absolute_location(location: str) -> str:
    """*location* unchanged when it is a URL, else as an absolute path."""
    if "://" in location or location.startswith("file:"):
        return location
    return str(Path(location).expanduser().absolute())
