"""``mar --help`` and ``torch-model-archiver --help`` are printed from text kept in the
package (no click import: issue 15's start-up targets); that text is exactly click's
rendering, and click still renders the help where the width changes it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mar_tools.cli.help_text import MAR_HELP
from torch_model_archiver.cli.help_text import ARCHIVER_HELP

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("help_text_generator", ROOT / "dev" / "help_text.py")
assert spec is not None and spec.loader is not None
generator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generator)

STALE = "the kept help is stale: run .venv/bin/python dev/help_text.py, then ruff format"
SCRIPTS = {"mar": "mar_tools", "torch-model-archiver": "torch_model_archiver"}


@pytest.mark.parametrize(
    ("prog", "kept"), [("mar", MAR_HELP), ("torch-model-archiver", ARCHIVER_HELP)]
)
def test_the_kept_help_is_clicks_rendering(prog: str, kept: str) -> None:
    assert generator.render(prog) == kept, STALE


def _run(module: str, args: list[str], columns: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"from {module}.cli import main\n"
        f"try:\n    main({args!r})\nfinally:\n"
        "    print(sorted(m for m in ('click', 'rich') if m in sys.modules), file=sys.stderr)\n"
    )
    env = {**os.environ, "COLUMNS": columns, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.parametrize("prog", list(SCRIPTS))
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_printed_without_click(prog: str, flag: str) -> None:
    done = _run(SCRIPTS[prog], [flag], "120")
    kept = MAR_HELP if prog == "mar" else ARCHIVER_HELP
    assert (done.returncode, done.stdout, done.stderr) == (0, kept, "[]\n")


@pytest.mark.parametrize("prog", list(SCRIPTS))
def test_a_narrow_terminal_gets_clicks_rendering(prog: str) -> None:
    done = _run(SCRIPTS[prog], ["--help"], "60")
    assert done.returncode == 0
    assert done.stderr == "['click']\n"
    assert done.stdout != (MAR_HELP if prog == "mar" else ARCHIVER_HELP)
    assert done.stdout.startswith(f"Usage: {prog} [OPTIONS]")
