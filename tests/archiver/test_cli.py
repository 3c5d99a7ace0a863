"""The command line in-process (click, through the shared error boundary): every flag, whole
outputs, exit codes."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from mar_tools import __version__ as tool_version
from mar_tools.core.manifest import RUNTIMES
from tests.archiver.outputs import MANIFEST, entries, manifest_of, run_cli, write
from torch_model_archiver.cli.command import FORMATS, LAYOUTS
from torch_model_archiver.compression import select_backend
from torch_model_archiver.spec import ArchiveFormat, ExtraFilesLayout, Runtime

BASE = ["--model-name", "m1", "--handler", "handler.py", "-v", "1.0"]


def test_a_successful_build_prints_nothing_when_not_on_a_terminal(model_dir: Path) -> None:
    outcome = run_cli(BASE)
    assert (outcome.code, outcome.stdout, outcome.stderr) == (0, "", "")
    assert sorted(entries(model_dir / "m1.mar")) == [MANIFEST, "handler.py"]


def test_missing_required_options_are_all_named_at_once(model_dir: Path) -> None:
    outcome = run_cli(["--model-name", "m1"])
    assert outcome.code == 2
    assert outcome.stderr == (
        "torch-model-archiver: error: missing options: --handler, -v / --version.\n"
        "hint: see 'torch-model-archiver --help'.\n"
    )
    assert not (model_dir / "m1.mar").exists()


def test_one_missing_required_option_uses_clicks_message(model_dir: Path) -> None:
    outcome = run_cli(["--model-name", "m1", "--handler", "handler.py"])
    assert outcome.code == 2
    assert outcome.stderr == (
        "torch-model-archiver: error: missing option '-v' / '--version'.\n"
        "hint: see 'torch-model-archiver --help'.\n"
    )


def test_help_lists_every_upstream_flag_then_ours(model_dir: Path) -> None:
    outcome = run_cli(["-h"])
    assert outcome.code == 0
    flags = [
        "--model-name",
        "--serialized-file",
        "--model-file",
        "--handler",
        "--extra-files",
        "--runtime [python|python3|LSP]",
        "--export-path",
        "--archive-format [tgz|no-archive|zip-store|default]",
        "-f, --force",
        "-v, --version",
        "-r, --requirements-file",
        "-c, --config-file",
        "--extra-files-layout [flat|relative]",
        "--digest-file",
        "-j, --jobs",
        "--tool-version",
        "-q, --quiet",
        "--verbose",
        "--color auto|always|never",
        "--debug",
        "-h, --help",
    ]
    positions = [outcome.stdout.index(f"\n  {flag}") for flag in flags]
    assert positions == sorted(positions)
    assert outcome.stdout.startswith("Usage: torch-model-archiver [OPTIONS]\n")
    assert run_cli(["--help"]).stdout == outcome.stdout


def test_tool_version_does_not_clash_with_the_model_version(model_dir: Path) -> None:
    outcome = run_cli(["--tool-version"])
    assert outcome == type(outcome)(
        0,
        f"torch-model-archiver {tool_version} (mar-tools); writes torch-model-archiver 0.12.0 "
        f"archives; deflate: {select_backend().name}\n",
        "",
    )
    run_cli([*BASE[:4], "-v", "2.5"])
    assert json.loads(manifest_of(model_dir / "m1.mar"))["model"]["modelVersion"] == "2.5"


def test_every_upstream_flag_reaches_the_manifest_and_the_archive(model_dir: Path) -> None:
    outcome = run_cli(
        [
            "--model-name",
            "full",
            "--serialized-file",
            "weights.pt",
            "--model-file",
            "model.py",
            "--handler",
            "my_handler:fn",
            "--extra-files",
            "index_to_name.json,extra",
            "--runtime",
            "python3",
            "--export-path",
            "out",
            "--archive-format",
            "zip-store",
            "-f",
            "--version",
            "3.1",
            "-r",
            "requirements.txt",
            "-c",
            "model-config.yaml",
        ]
    )
    assert outcome.code == 0, outcome.stderr
    archive = model_dir / "out" / "full.mar"
    manifest = json.loads(manifest_of(archive))
    del manifest["createdOn"]
    assert manifest == {
        "runtime": "python3",
        "model": {
            "modelName": "full",
            "serializedFile": "weights.pt",
            "handler": "my_handler:fn",
            "modelFile": "model.py",
            "modelVersion": "3.1",
            "requirementsFile": "requirements.txt",
            "configFile": "model-config.yaml",
        },
        "archiverVersion": "0.12.0",
    }
    with zipfile.ZipFile(archive) as stored:
        assert {info.compress_type for info in stored.infolist()} == {zipfile.ZIP_STORED}
    assert sorted(entries(archive)) == [
        ".env",
        MANIFEST,
        "a.txt",
        "index_to_name.json",
        "model-config.yaml",
        "model.py",
        "my_handler.py",
        "requirements.txt",
        "sub/b.txt",
        "weights.pt",
    ]


@pytest.mark.parametrize(
    ("fmt", "output"),
    [("default", "m1.mar"), ("zip-store", "m1.mar"), ("tgz", "m1.tar.gz"), ("no-archive", "m1")],
)
def test_archive_format_names_the_output_as_upstream(
    model_dir: Path, fmt: str, output: str
) -> None:
    assert run_cli([*BASE, "--archive-format", fmt]).code == 0
    assert (model_dir / output).exists()
    assert sorted(entries(model_dir / output)) == [MANIFEST, "handler.py"]


def test_flag_choices_are_the_librarys_values() -> None:
    """The command spells formats and layouts itself (--help does not import the library);
    its runtimes are the manifest model's."""
    assert tuple(runtime.value for runtime in Runtime) == RUNTIMES
    assert sorted(FORMATS) == sorted(fmt.value for fmt in ArchiveFormat)
    assert tuple(layout.value for layout in ExtraFilesLayout) == LAYOUTS


def test_invalid_choices_are_usage_errors(model_dir: Path) -> None:
    outcome = run_cli([*BASE, "--runtime", "java"])
    assert outcome.code == 2
    assert outcome.stderr == (
        "torch-model-archiver: error: invalid value for '--runtime': 'java' is not one of "
        "'python', 'python3', 'LSP'.\n"
        "hint: see 'torch-model-archiver --help'.\n"
    )
    assert run_cli([*BASE, "--archive-format", "zip"]).code == 2
    assert run_cli([*BASE, "--extra-files-layout", "tree"]).code == 2
    assert run_cli([*BASE, "--jobs", "0"]).code == 2


def test_existing_output_needs_force(model_dir: Path) -> None:
    assert run_cli(BASE).code == 0
    before = (model_dir / "m1.mar").read_bytes()
    outcome = run_cli(BASE)
    assert outcome.code == 1
    assert outcome.stderr == (
        f"torch-model-archiver: error: {model_dir / 'm1.mar'} already exists.\n"
        "hint: pass -f/--force to replace it (only on success).\n"
    )
    assert (model_dir / "m1.mar").read_bytes() == before
    assert run_cli([*BASE, "-f"]).code == 0
    assert run_cli([*BASE, "--force"]).code == 0


def test_all_bad_inputs_are_reported_together_without_a_traceback(model_dir: Path) -> None:
    outcome = run_cli(
        [
            "--model-name",
            "bad name",
            "--handler",
            "nope.py",
            "-v",
            "1",
            "--serialized-file",
            "missing.pt",
            "--extra-files",
            "extra,gone.txt",
        ]
    )
    assert outcome.code == 1
    assert outcome.stderr == (
        "torch-model-archiver: error: cannot build bad name.mar: 4 problems:\n"
        "  - invalid model name 'bad name': it must start with a letter or digit and contain "
        "only letters, digits, '_', '-' and '.' "
        "(upstream's filter ^[A-Za-z0-9][A-Za-z0-9_\\-.]*$)\n"
        "  - --serialized-file missing.pt: no such file\n"
        "  - --handler nope.py: no such file\n"
        "  - --extra-files gone.txt: no such file\n"
    )
    assert "Traceback" not in outcome.stderr
    assert sorted(path.name for path in model_dir.iterdir() if path.suffix == ".mar") == []


def test_missing_files_only_get_a_hint_about_the_current_directory(model_dir: Path) -> None:
    outcome = run_cli([*BASE, "--model-file", "nope.py"])
    assert outcome.stderr == (
        "torch-model-archiver: error: cannot build m1.mar: --model-file nope.py: no such file\n"
        f"hint: relative paths are read from {model_dir}.\n"
    )


def test_debug_shows_the_traceback(model_dir: Path) -> None:
    outcome = run_cli([*BASE, "--model-file", "nope.py", "--debug"])
    assert outcome.code == 1
    assert "Traceback (most recent call last)" in outcome.stderr
    assert outcome.stderr.rstrip().endswith(f"hint: relative paths are read from {model_dir}.")


def test_a_pattern_matching_nothing_is_a_warning_as_upstream(model_dir: Path) -> None:
    outcome = run_cli([*BASE, "--extra-files", "*.nothing"])
    assert outcome.code == 0
    assert outcome.stderr == (
        "torch-model-archiver: warning: --extra-files pattern '*.nothing' matched no file\n"
    )


def test_quiet_still_prints_warnings(model_dir: Path) -> None:
    outcome = run_cli([*BASE, "-q", "--extra-files", "*.nothing"])
    assert outcome.stderr.endswith("matched no file\n")


def test_invalid_source_date_epoch_is_bad_input(model_dir: Path) -> None:
    outcome = run_cli(BASE, env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert outcome.code == 1
    assert outcome.stderr == (
        "torch-model-archiver: error: SOURCE_DATE_EPOCH='yesterday' is not a whole number of "
        "seconds since 1970\nhint: unset it or give whole seconds.\n"
    )


@pytest.mark.parametrize("value", ["1_700_000_000", "+5", "\u0661\u0662\u0663", "1e9"])
def test_source_date_epoch_must_be_ascii_digits(model_dir: Path, value: str) -> None:
    """reproducible-builds.org: an ASCII integer. Python's int() also takes '1_000', '+5'
    and other scripts' digits, which other tools would read differently or reject."""
    outcome = run_cli(BASE, env={"SOURCE_DATE_EPOCH": value})
    assert outcome.code == 1
    assert outcome.stderr.startswith(f"torch-model-archiver: error: SOURCE_DATE_EPOCH={value!r}")
    assert not (model_dir / "m1.mar").exists()


def test_source_date_epoch_out_of_range_is_bad_input_not_a_crash(model_dir: Path) -> None:
    """A value past the year 9999 used to end in 'internal error: OverflowError' (exit 2)."""
    outcome = run_cli(BASE, env={"SOURCE_DATE_EPOCH": "100000000000000000000"})
    assert outcome.code == 1
    assert outcome.stderr == (
        "torch-model-archiver: error: cannot build m1.mar: SOURCE_DATE_EPOCH must be between "
        "0 and 253402300799 (the end of the year 9999), not 100000000000000000000\n"
    )
    assert run_cli(BASE, env={"SOURCE_DATE_EPOCH": "253402300799"}).code == 0
    assert json.loads(manifest_of(model_dir / "m1.mar"))["createdOn"] == "31/12/9999 23:59:59"


def test_source_date_epoch_sets_created_on_in_utc(model_dir: Path) -> None:
    assert run_cli(BASE, env={"SOURCE_DATE_EPOCH": "1700000000", "TZ": "Asia/Tokyo"}).code == 0
    assert json.loads(manifest_of(model_dir / "m1.mar"))["createdOn"] == "14/11/2023 22:13:20"


def test_jobs_and_layout_flags(model_dir: Path) -> None:
    assert (
        run_cli(
            [*BASE, "-j", "1", "--extra-files", "extra", "--extra-files-layout", "relative"]
        ).code
        == 0
    )
    assert sorted(entries(model_dir / "m1.mar")) == [
        MANIFEST,
        "extra/.env",
        "extra/a.txt",
        "extra/sub/b.txt",
        "handler.py",
    ]


def test_export_path_is_created_when_missing(model_dir: Path) -> None:
    assert run_cli([*BASE, "--export-path", "deep/er/store"]).code == 0
    assert (model_dir / "deep" / "er" / "store" / "m1.mar").is_file()


def test_export_path_that_is_a_file_is_bad_input(model_dir: Path) -> None:
    write(model_dir / "store", "not a directory")
    outcome = run_cli([*BASE, "--export-path", "store"])
    assert outcome.code == 1
    assert f"--export-path {model_dir / 'store'} is not a directory" in outcome.stderr


def test_unwritable_export_path_exits_3_and_leaves_nothing(model_dir: Path) -> None:
    store = model_dir / "store"
    store.mkdir()
    store.chmod(0o500)
    try:
        if os.access(store, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        outcome = run_cli([*BASE, "--export-path", "store"])
    finally:
        store.chmod(0o700)
    assert outcome.code == 3
    assert outcome.stderr.startswith(f"torch-model-archiver: error: cannot write {store}")
    assert list(store.iterdir()) == []
