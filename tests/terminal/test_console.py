"""User and tool text reaches the terminal exactly as written: no markup, no emoji codes.

Before, a file named ``model:x:v2.mar`` printed as ``model❌v2.mar``, and rich could eat
``[red]`` in pip's output. The consoles are rendered here as a colour terminal (where
styles are drawn), and real ``mar`` processes are checked end to end.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from mar_tools.terminal import console

MAR = Path(sys.executable).with_name("mar")
TRICKY = "model:x:v2.mar [red]not red[/red] :thumbs_up: [link=https://x]y[/link]"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """The stderr console, as a 256-colour terminal writing into a buffer."""
    # rich sizes a TERM=dumb terminal at 80 columns whatever the width asked for, and would
    # wrap the long lines below: the recording terminal is a colour one wherever tests run.
    monkeypatch.setenv("TERM", "xterm-256color")
    buffer = io.StringIO()
    recording = Console(
        file=buffer, force_terminal=True, color_system="256", width=300, emoji=False
    )
    monkeypatch.setattr(console, "stderr", lambda: recording)
    return buffer


def _plain(text: str) -> str:
    """*text* without the ANSI style sequences."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_messages_hints_and_warnings_are_printed_literally(terminal: io.StringIO) -> None:
    console.error(f"cannot read {TRICKY}", f"rename {TRICKY}")
    console.warning(TRICKY)
    console.info(TRICKY)
    assert _plain(terminal.getvalue()).splitlines() == [
        f"mar: error: cannot read {TRICKY}",
        f"hint: rename {TRICKY}",
        f"mar: warning: {TRICKY}",
        f"mar: {TRICKY}",
    ]
    assert "\x1b[" in terminal.getvalue()  # the prefixes are still styled


def test_the_consoles_never_replace_emoji_codes() -> None:
    for made in (console.stderr(), console.stdout()):
        with made.capture() as captured:
            made.print(console.literal("a:x:b"))
        assert captured.get() == "a:x:b\n"


def _mar(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "300"}
    return subprocess.run([str(MAR), *args], capture_output=True, text=True, env=env, check=False)


def test_a_file_named_like_an_emoji_code_keeps_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "model:x:v2.mar"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    done = _mar("run", str(bad), "--data", "x")
    assert done.returncode == 3
    assert done.stderr == (
        f"mar: error: {bad}: not a readable zip archive (File is not a zip file).\n"
    )
    validated = _mar("validate", str(bad))
    assert validated.returncode == 1
    assert validated.stdout.splitlines()[0] == f"{bad} (zip): invalid (1 error)"


def test_pip_output_with_brackets_is_shown_as_pip_wrote_it(tmp_path: Path) -> None:
    from tests.env.models import make_model

    model = make_model(tmp_path / "m", name="m", requirements="./missing:x:[red]dir/\n")
    archive = model.archive(tmp_path / "m.mar")
    env = {"MAR_CACHE_DIR": str(tmp_path / "cache"), "PIP_NO_INDEX": "1"}
    done = subprocess.run(
        [str(MAR), "env", "create", str(archive), "--installer", "pip"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "300", **env},
        check=False,
    )
    assert done.returncode == 5
    assert "invalid requirement './missing:x:[red]dir/': Expected package name" in done.stderr
    assert "  | Hint: It looks like a path. File './missing:x:[red]dir/' does not exist." in (
        done.stderr.splitlines()
    )


_PROBE = (
    "import sys; from mar_tools.terminal import console; "
    "print(console.is_interactive(), 'rich' in sys.modules)"
)


@pytest.mark.parametrize(
    ("override", "expected"),
    [(None, "False False"), ("FORCE_COLOR", "True True"), ("TTY_INTERACTIVE", None)],
)
def test_a_non_terminal_is_decided_without_loading_rich(
    override: str | None, expected: str | None
) -> None:
    """Most runs print nothing: rich (tens of milliseconds) is not loaded to learn that stderr
    is a pipe. Where a variable makes rich call a pipe a terminal, rich still decides."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env.pop("TTY_INTERACTIVE", None)
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm"  # not "dumb", which turns progress off before anything else
    if override is not None:
        env[override] = "1"
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    if expected is None:  # rich's own answer, whatever this rich version makes of it
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(override or "", "1")
            expected = f"{Console(stderr=True, file=io.StringIO()).is_terminal} True"
    assert probe.stdout.split("\n")[0] == expected
