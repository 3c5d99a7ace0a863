"""``mar run``'s messages for the common mistakes (issue 12), whole stderr compared: an input
given as a positional argument, an archive zipped from its folder, JSON that does not parse,
standard input on a terminal, torch missing where the model runs, and the archive's own name
in tracebacks (never the cache's path). The load check (no inputs) is in ``test_cli``."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import zipfile
from pathlib import Path

from mar_tools.core.errors import LoadFailed
from mar_tools.run.conversation import NO_TORCH_HINT, _load_error
from mar_tools.worker.failure import Failure
from mar_tools.worker.messages import LoadFailure
from tests.run.support import build_archive, manifest, mar_env, run_mar, source

ECHO = source(
    """
    def handle(data, context):
        if data is None:
            return None
        return [repr(row.get("body") if "body" in row else row.get("data")) for row in data]
    """
)


def _archive(tmp_path: Path) -> Path:
    return build_archive(tmp_path / "model", {"echo.py": ECHO}, manifest("echo.py"))


def test_a_positional_input_points_at_input(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path)
    done = run_mar([archive, "x.json"], cache=cache)
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == (
        "mar: error: unexpected argument 'x.json': mar run takes one ARCHIVE; inputs are "
        "options.\n"
        f"hint: to send it as a request: mar run {archive} --input x.json\n"
    )


def test_an_archive_zipped_from_its_folder_says_how_to_fix_it(tmp_path: Path, cache: Path) -> None:
    archive = tmp_path / "zipped.mar"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("model/MAR-INF/MANIFEST.json", manifest("echo.py"))
        zipped.writestr("model/echo.py", ECHO)
    done = run_mar([archive, "--data", "x"], cache=cache)
    assert (done.returncode, done.stdout) == (3, b"")
    assert done.stderr == (
        f"mar: error: {archive}: MAR-INF/MANIFEST.json is not at the top of the archive but "
        "under 'model/': the zip was made from the model's folder instead of its contents.\n"
        "hint: zip the folder's contents (cd model && zip -r ../model.mar .), or build the "
        "archive with torch-model-archiver.\n"
    )


def test_json_that_does_not_parse_is_forwarded_raw_without_a_traceback(
    tmp_path: Path, cache: Path
) -> None:
    archive = _archive(tmp_path)
    done = run_mar([archive, "--data", "{bad", "--content-type", "application/json"], cache=cache)
    assert (done.returncode, done.stdout) == (0, b"bytearray(b'{bad')")
    assert done.stderr == (
        "Failed json decoding of input data. Forwarding encoded payload (Expecting property "
        "name enclosed in double quotes: line 1 column 2 (char 1))\n"
    )


def test_tracebacks_name_the_archive_not_the_cache(tmp_path: Path, cache: Path) -> None:
    handler = "def handle(data, context):\n    raise ValueError('x')\n"
    archive = build_archive(tmp_path / "model", {"bad.py": handler}, manifest("bad.py"))
    done = run_mar([archive, "--data", "x"], cache=cache)
    assert done.returncode == 4
    assert done.stderr == (
        "Traceback (most recent call last):\n"
        f'  File "{archive}/bad.py", line 2, in handle\n'
        "    raise ValueError('x')\n"
        "ValueError: x\n"
        "mar: error: the model failed to load: ValueError: x\n"
    )
    assert str(cache) not in done.stderr


def test_reading_stdin_on_a_terminal_says_so(tmp_path: Path, cache: Path) -> None:
    archive = _archive(tmp_path)
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "mar_tools", "run", str(archive), "--input", "-"],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=mar_env(cache),
        )
        os.close(follower)
        os.write(leader, b"typed\n\x04")
        out, err = process.communicate(timeout=120)
    finally:
        os.close(leader)
    assert (process.returncode, out) == (0, b"bytearray(b'typed\\n')")
    assert err.decode() == (
        "mar: reading the request body from standard input (end it with Ctrl-D)...\n"
    )


def test_a_handler_without_torch_gets_the_install_hint() -> None:
    # What the worker sends when the model's interpreter has no torch.
    failure = Failure(
        "ModuleNotFoundError",
        "No module named 'torch'",
        'Traceback (most recent call last):\n  File "m.mar/h.py", line 1, in <module>\n'
        "    import torch\nModuleNotFoundError: No module named 'torch'\n",
    )
    error = _load_error(LoadFailure("exception", failure.message, failure=failure), Path("m"))
    assert isinstance(error, LoadFailed)
    assert (error.message, error.hint) == (
        "the model failed to load: ModuleNotFoundError: No module named 'torch'",
        NO_TORCH_HINT,
    )
    assert "pip install 'mar-tools[run]'" in NO_TORCH_HINT
    other = Failure("ModuleNotFoundError", "No module named 'torchx'", "")
    unrelated = _load_error(LoadFailure("exception", "", failure=other), Path("m"))
    assert isinstance(unrelated, LoadFailed)
    assert unrelated.hint is None
