"""``mar validate`` on the command line: whole outputs through CliRunner, and real processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from mar_tools.cli import cli
from mar_tools.validate import CATALOG
from tests.validate.builders import members, write_zip

ENV = {"NO_COLOR": "1", "COLUMNS": "100"}
MAR = Path(sys.executable).parent / "mar"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args], env=ENV)
    return result.exit_code, result.stdout, result.stderr


def archives(tmp_path: Path, weights: bytes) -> tuple[Path, Path]:
    good = write_zip(tmp_path / "good.mar", members(weights))
    config = b"batchSize: '4'\n"
    warned = write_zip(tmp_path / "warned.mar", members(weights, model_config_yaml=config))
    return good, warned


def test_valid_and_warned_archives(tmp_path: Path, weights: bytes) -> None:
    good, warned = archives(tmp_path, weights)
    code, out, err = invoke(str(good), str(warned))
    assert (code, err) == (0, "")
    assert out == (
        f"{good} (zip): valid\n"
        "\n"
        f"{warned} (zip): valid (1 warning)\n"
        "  warning[config.type] model-config.yaml:1:12: /batchSize: '4' is not of type "
        "'integer'.\n"
        "    hint: TorchServe ignores the value (with a warning in its log); use the type "
        "shown.\n"
        "\n"
        "2 archives checked: 2 valid, 0 invalid (1 warning).\n"
    )


def test_strict_turns_warnings_into_failures(tmp_path: Path, weights: bytes) -> None:
    _, warned = archives(tmp_path, weights)
    code, out, _ = invoke("--strict", str(warned))
    assert code == 1
    assert out.endswith(
        "1 archive checked: 0 valid, 1 invalid (1 warning). (--strict: warnings fail)\n"
    )


def test_select_and_ignore_by_prefix(tmp_path: Path, weights: bytes) -> None:
    files = {**members(weights, model_config_yaml=b"batchSize: '4'\n"), "../evil": b"x"}
    bad = write_zip(tmp_path / "bad.mar", files)
    assert invoke("--format", "json", str(bad))[0] == 1
    code, out, _ = invoke("--format", "json", "--ignore", "path", str(bad))
    assert code == 0
    assert [f["code"] for f in json.loads(out)["archives"][0]["findings"]] == ["config.type"]
    code, out, _ = invoke("--format", "json", "--select", "path.trav,manifest", str(bad))
    data = json.loads(out)["archives"][0]
    assert code == 1
    assert [f["code"] for f in data["findings"]] == ["path.traversal"]
    assert "config.type" in data["skipped"] and "manifest.missing" not in data["skipped"]


def test_report_written_to_a_file(tmp_path: Path, weights: bytes) -> None:
    good, _ = archives(tmp_path, weights)
    target = tmp_path / "report.sarif"
    code, out, _ = invoke("--format", "sarif", "-o", str(target), str(good))
    assert (code, out) == (0, "")
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_report_file_is_replaced_in_one_step_and_keeps_its_mode(
    tmp_path: Path, weights: bytes
) -> None:
    good, _ = archives(tmp_path, weights)
    reports = tmp_path / "reports"
    reports.mkdir()
    target = reports / "report.json"
    target.write_text("the previous report")
    target.chmod(0o640)
    with target.open() as previous:
        done = run_mar("--format", "json", "-o", str(target), str(good))
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        # Renamed over, not rewritten: a reader of the old file still reads it whole.
        assert previous.read() == "the previous report"
    assert json.loads(target.read_text())["valid"] is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [path.name for path in reports.iterdir()] == ["report.json"]


def test_a_report_in_a_missing_directory_is_a_usage_error(tmp_path: Path, weights: bytes) -> None:
    good, _ = archives(tmp_path, weights)
    target = tmp_path / "nowhere" / "report.json"
    done = run_mar("--format", "json", "-o", str(target), str(good))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"mar: error: --output {target}: the directory {target.parent} does not exist.\n"
    )
    assert not target.parent.exists()


def test_limits_options(tmp_path: Path, weights: bytes) -> None:
    good, _ = archives(tmp_path, weights)
    code, out, _ = invoke("--format", "json", "--max-size", "1K", "--max-ratio", "1.5", str(good))
    assert code == 1
    codes = [f["code"] for f in json.loads(out)["archives"][0]["findings"]]
    assert codes == ["limits.total-size"]  # the ratio counts from 1 MiB only
    # Too many entries: refused from the end record, before the index is parsed.
    code, out, _ = invoke("--format", "json", "--max-size", "1K", "--max-entries", "2", str(good))
    assert code == 1
    codes = [f["code"] for f in json.loads(out)["archives"][0]["findings"]]
    assert codes == ["limits.entry-count"]
    code, _, err = invoke("--max-size", "lots", str(good))
    assert code == 2 and "'lots' is not a size like 1073741824, 512M or 64GiB." in err


def test_list_checks_names_every_code() -> None:
    code, out, _ = invoke("--list-checks")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(CATALOG)
    assert lines[0] == f"{'archive.unreadable':32} {'error':8} The archive cannot be read"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke()
    assert code == 2 and "give at least one PATH" in err
    code, _, err = invoke(str(tmp_path / "missing.mar"))
    assert code == 2 and "does not exist" in err
    code, _, err = invoke("--format", "xml", str(tmp_path))
    assert code == 2 and "'xml' is not one of" in err


def run_mar(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ENV}
    return subprocess.run(
        [str(MAR), "validate", *args], capture_output=True, text=True, env=env, check=False
    )


def test_real_process_exit_codes_and_no_traceback(tmp_path: Path, weights: bytes) -> None:
    good, _ = archives(tmp_path, weights)
    assert run_mar(str(good)).returncode == 0
    broken = tmp_path / "broken.mar"
    broken.write_bytes(good.read_bytes()[:200])
    done = run_mar("--format", "github", str(broken))
    assert done.returncode == 1
    assert done.stdout.startswith("::error file=")
    assert "Traceback" not in done.stdout + done.stderr
    assert run_mar(str(tmp_path / "nope.mar")).returncode == 2


def test_validate_never_imports_torch(tmp_path: Path, weights: bytes) -> None:
    good, _ = archives(tmp_path, weights)
    env = {**os.environ, **ENV}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mar_tools", "validate", str(good)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "mar_tools.validate" in imported
    assert not {name for name in imported if name == "torch" or name.startswith("torch.")}
    # Plain output (not a terminal) needs no rich, and a valid manifest and model config no
    # jsonschema (issue 15's start-up); the config needs PyYAML.
    assert "yaml" in imported and not imported & {"rich", "jsonschema"}


def test_help_imports_neither_the_validator_nor_jsonschema() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mar_tools", "validate", "--help"],
        capture_output=True, text=True, env={**os.environ, **ENV}, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    assert "--list-checks" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not imported & {"jsonschema", "yaml", "mar_tools.validate", "torch"}
