"""The ``mar serve`` command line."""

from __future__ import annotations

from click.testing import CliRunner

from mar_tools.cli import cli
from mar_tools.cli.serve import expand_models


def test_models_take_several_values_like_torchserve() -> None:
    assert expand_models(["--models", "a=a.mar", "b.mar", "--ncs", "x.mar"]) == [
        "--models", "a=a.mar", "--models", "b.mar", "--ncs", "x.mar",
    ]  # fmt: skip


def test_help_lists_the_torchserve_flags() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    for flag in ("--model-store", "--models", "--ts-config", "--foreground", "--ncs",
                 "--disable-token-auth", "--enable-model-api", "--log-config", "--reload",
                 "--log-format"):  # fmt: skip
        assert flag in result.output


def test_stop_is_explained() -> None:
    import pytest

    from mar_tools.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--stop"])
    assert exit_info.value.code == 2
