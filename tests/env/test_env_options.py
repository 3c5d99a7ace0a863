"""The shared environment options, as ``mar run`` and ``mar env create`` parse them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from mar_tools.cli.env_options import env_options_from, environment_options
from mar_tools.env import EnvOptions


@click.command()
@environment_options
def show(**params: Any) -> None:
    click.echo(repr(env_options_from(params)))


def test_defaults() -> None:
    result = CliRunner().invoke(show, [])
    assert result.exit_code == 0
    assert result.stdout == repr(EnvOptions()) + "\n"


def test_every_option_and_local_find_links_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [
        "--env", "venv", "--rebuild-env", "--cache-dir", "c", "--installer", "uv",
        "--find-links", "wheels", "--find-links", "https://example.invalid/links",
        "--index-url", "https://example.invalid/simple",
        "--extra-index-url", "file:///srv/simple", "--pip-option=--no-index",
        "--pip-option", "--pre",
    ]  # fmt: skip

    result = CliRunner().invoke(show, args)

    expected = EnvOptions(
        mode="venv",
        rebuild=True,
        cache_dir=Path("c"),
        installer="uv",
        find_links=(str(tmp_path / "wheels"), "https://example.invalid/links"),
        index_url="https://example.invalid/simple",
        extra_index_urls=("file:///srv/simple",),
        pip_options=("--no-index", "--pre"),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == repr(expected) + "\n"
    assert expected.index_arguments() == [
        "--find-links", str(tmp_path / "wheels"),
        "--find-links", "https://example.invalid/links",
        "--index-url", "https://example.invalid/simple",
        "--extra-index-url", "file:///srv/simple",
        "--no-index", "--pre",
    ]  # fmt: skip
