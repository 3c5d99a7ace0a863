"""The archiver's messages for common mistakes (issue 12), whole stderr compared: did-you-mean
for a handler file and a built-in handler name, ``--version`` without a value, and the
``--verbose`` summary written with the one size formatter (``308 B``, never ``0.0 MiB``)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.archiver.outputs import run_cli


def test_a_mistyped_handler_file_gets_the_closest_file(model_dir: Path) -> None:
    outcome = run_cli(["--model-name", "m1", "--handler", "handlr.py", "-v", "1"])
    assert (outcome.code, outcome.stdout) == (1, "")
    assert outcome.stderr == (
        "torch-model-archiver: error: cannot build m1.mar: --handler handlr.py: no such file\n"
        "hint: did you mean 'handler.py' or 'my_handler.py'?\n"
    )
    nested = run_cli(["--model-name", "m1", "--handler", "extra/handlr.py", "-v", "1"])
    assert nested.stderr.endswith(f"hint: relative paths are read from {model_dir}.\n")


def test_a_mistyped_builtin_handler_gets_the_builtin_name(model_dir: Path) -> None:
    outcome = run_cli(["--model-name", "m1", "--handler", "image_clasifier", "-v", "1"])
    assert (outcome.code, outcome.stdout) == (1, "")
    assert outcome.stderr == (
        "torch-model-archiver: error: cannot build m1.mar: --handler image_clasifier "
        "(image_clasifier.py): no such file\n"
        "hint: did you mean 'image_classifier' or 'dali_image_classifier'? (built-in handlers)\n"
    )
    assert not (model_dir / "m1.mar").exists()


def test_version_without_a_value_points_at_tool_version(model_dir: Path) -> None:
    for flag in ("--version", "-v"):
        outcome = run_cli([flag])
        assert (outcome.code, outcome.stdout) == (2, "")
        assert outcome.stderr == (
            f"torch-model-archiver: error: {flag} needs a value.\n"
            "hint: -v/--version is the model's version (modelVersion), as with upstream's "
            "archiver; for the version of this tool: torch-model-archiver --tool-version\n"
        )


def test_verbose_prints_the_summary_with_readable_sizes(model_dir: Path) -> None:
    outcome = run_cli(["--model-name", "m1", "--handler", "handler.py", "-v", "1", "--verbose"])
    assert (outcome.code, outcome.stdout) == (0, "")
    size = (model_dir / "m1.mar").stat().st_size
    assert re.fullmatch(
        rf"Wrote {re.escape(str(model_dir / 'm1.mar'))} \(2 files, \d+ B in, {size} B out, "
        r"\d+\.\d s\)\nContent digest: sha256:[0-9a-f]{64}\n",
        outcome.stderr,
    ), outcome.stderr
    quiet = run_cli(["--model-name", "m2", "--handler", "handler.py", "-v", "1", "-q"])
    assert (quiet.code, quiet.stdout, quiet.stderr) == (0, "", "")
