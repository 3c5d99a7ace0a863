"""The GitHub Action (action.yml, composite): its wiring, then its ``run:`` steps executed in
bash as the runner executes them (``bash --noprofile --norc -eo pipefail``, inputs through
``${{ }}`` in ``env:``, ``$GITHUB_OUTPUT`` / ``$GITHUB_ENV`` files), on a sample workspace.
The upload step (``github/codeql-action/upload-sarif``) cannot run here: its inputs are
checked instead."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.archiver.outputs import entries, run_cli, write
from tests.project.conftest import ROOT, run_process

ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS: dict[str, dict[str, Any]] = {step["id"]: step for step in ACTION["runs"]["steps"]}
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
#: The only expressions the steps' text may use (what the harness below evaluates).
SIMPLE = re.compile(r"^(inputs\.[a-z-]+|steps\.[a-z]+\.outputs\.[a-z-]+)$")
HANDLER = "def handle(data, context):\n    return data\n"


def expressions(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield from EXPRESSION.findall(node)
    elif isinstance(node, dict):
        for value in node.values():
            yield from expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from expressions(value)


def written_outputs(step: Mapping[str, Any]) -> set[str]:
    """Names a run step writes to $GITHUB_OUTPUT (``echo "name=...``)."""
    return set(re.findall(r'echo "([a-z-]+)=', step.get("run", "")))


def test_every_step_is_bash_or_the_sarif_upload() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert list(STEPS) == ["install", "build", "validate", "upload", "verdict"]
    for step_id, step in STEPS.items():
        if step_id == "upload":
            continue
        assert step["shell"] == "bash", step_id
        assert "if" not in step, "run steps decide for themselves (the harness has no if:)"
        assert not EXPRESSION.search(step["run"]), f"{step_id}: inputs only through env:"


def test_every_expression_names_a_real_input_or_step_output() -> None:
    for expression in expressions({k: v for k, v in ACTION.items() if k != "runs"}):
        assert SIMPLE.match(expression), expression
    for step_id, step in STEPS.items():
        found = list(expressions({k: v for k, v in step.items() if k != "if"}))
        assert found, step_id
        for expression in found:
            assert SIMPLE.match(expression), (step_id, expression)
    for expression in expressions(ACTION):
        for name in re.findall(r"\binputs\.([a-z-]+)", expression):
            assert name in ACTION["inputs"], expression
        for step_id, name in re.findall(r"\bsteps\.([a-z]+)\.outputs\.([a-z-]+)", expression):
            assert name in written_outputs(STEPS[step_id]), expression


def test_the_upload_step_sends_the_validate_steps_sarif_even_after_a_failure() -> None:
    upload = STEPS["upload"]
    assert upload["uses"] == "github/codeql-action/upload-sarif@v3"
    assert upload["with"] == {
        "sarif_file": "${{ steps.validate.outputs.sarif-file }}",
        "category": "${{ inputs.sarif-category }}",
    }
    assert upload["if"] == (
        "${{ always() && inputs.upload-sarif == 'true' "
        "&& steps.validate.outputs.sarif-file != '' }}"
    )
    assert ACTION["inputs"]["upload-sarif"]["default"] == "true"
    assert {name: out["value"] for name, out in ACTION["outputs"].items()} == {
        "archive": "${{ steps.build.outputs.archive }}",
        "sarif-file": "${{ steps.validate.outputs.sarif-file }}",
        "valid": "${{ steps.validate.outputs.valid }}",
        "exit-code": "${{ steps.validate.outputs.exit-code }}",
    }


def assignments(file: Path) -> dict[str, str]:
    """The ``name=value`` lines a step appended to a $GITHUB_OUTPUT or $GITHUB_ENV file."""
    pairs = (line.partition("=") for line in file.read_text().splitlines())
    return {name: value for name, _, value in pairs}


class Runner:
    """Runs the action's bash steps the way the GitHub runner does, in *workspace*."""

    def __init__(self, workspace: Path, temp: Path) -> None:
        self.workspace = workspace
        self.temp = temp
        self.env: dict[str, str] = {}  # what steps appended to $GITHUB_ENV
        self.outputs: dict[str, dict[str, str]] = {}
        self.inputs: dict[str, str] = {}

    def start(self, **inputs: str) -> None:
        """A new run of the action (the venv of an earlier install is kept)."""
        unknown = {name.replace("_", "-") for name in inputs} - set(ACTION["inputs"])
        assert not unknown, unknown
        defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        self.inputs = {**defaults, **{k.replace("_", "-"): v for k, v in inputs.items()}}
        self.outputs = {}

    def value(self, expression: str) -> str:
        kind, _, rest = expression.partition(".")
        if kind == "inputs":
            return self.inputs[rest]
        step_id, _, name = rest.partition(".outputs.")
        return self.outputs.get(step_id, {}).get(name, "")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda match: self.value(match.group(1)), text)

    def run(self, step_id: str) -> subprocess.CompletedProcess[str]:
        step = STEPS[step_id]
        files = {name: self.temp / f"{step_id}.{name}" for name in ("output", "env")}
        for file in files.values():
            file.write_text("")
        script = self.temp / f"{step_id}.sh"
        script.write_text(step["run"])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MAR_"))}
        env.update(self.env)
        env.update(
            GITHUB_ACTION_PATH=str(ROOT),
            GITHUB_WORKSPACE=str(self.workspace),
            GITHUB_OUTPUT=str(files["output"]),
            GITHUB_ENV=str(files["env"]),
            RUNNER_TEMP=str(self.temp),
            NO_COLOR="1",
        )
        env.update({name: self.substitute(value) for name, value in step.get("env", {}).items()})
        cwd = self.workspace / self.substitute(step.get("working-directory", "."))
        done = run_process(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], cwd, env)
        self.outputs[step_id] = assignments(files["output"])
        self.env.update(assignments(files["env"]))
        return done


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """A workspace with a model's files, another archive and a broken model directory, and
    mar-tools installed by the action's install step (from this checkout, as the action's
    own source)."""
    workspace = tmp_path_factory.mktemp("workspace")
    write(workspace / "model" / "handler.py", HANDLER)
    write(workspace / "model" / "weights.pt", b"\x80\x02}q\x00.")
    write(workspace / "model" / "labels.json", '{"0": "cat"}\n')
    write(workspace / "src" / "handler.py", HANDLER)
    cwd = Path.cwd()
    os.chdir(workspace / "src")
    try:
        for name, fmt in (("other", "default"), ("broken", "no-archive")):
            flags = ["--model-name", name, "--handler", "handler.py", "-v", "1"]
            done = run_cli([*flags, "--export-path", "../prebuilt", "--archive-format", fmt])
            assert done.code == 0, done.stderr
    finally:
        os.chdir(cwd)
    (workspace / "prebuilt" / "broken" / "handler.py").write_text("def handle(data, context)\n")
    runner = Runner(workspace, tmp_path_factory.mktemp("runner-temp"))
    runner.start(python=sys.executable)
    installed = runner.run("install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert installed.stdout.startswith("mar ")
    assert Path(runner.env["MAR_TOOLS_BIN"]).is_relative_to(runner.temp)
    return runner


@pytest.mark.slow
def test_build_then_validate_the_built_and_the_given_archives(runner: Runner) -> None:
    runner.start(
        working_directory="model",
        model_name="m1",
        version="2.0",
        handler="handler.py",
        serialized_file="weights.pt",
        extra_files="labels.json",
        archiver_args="-f --runtime 'python3'",
        archives="../prebuilt/*.mar",
        validate_args="--strict",
    )
    built = runner.run("build")
    assert built.returncode == 0, built.stdout + built.stderr
    assert runner.outputs["build"] == {"archive": "model-store/m1.mar"}
    archive = runner.workspace / "model" / "model-store" / "m1.mar"
    manifest = json.loads(entries(archive)["MAR-INF/MANIFEST.json"])
    assert (manifest["runtime"], manifest["model"]["modelVersion"]) == ("python3", "2.0")
    assert sorted(entries(archive)) == [
        "MAR-INF/MANIFEST.json",
        "handler.py",
        "labels.json",
        "weights.pt",
    ]
    checked = runner.run("validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert runner.outputs["validate"] == {
        "exit-code": "0",
        "valid": "true",
        "sarif-file": "mar-validate.sarif",
    }
    sarif = json.loads((runner.workspace / "model" / "mar-validate.sarif").read_text())
    assert [run["results"] for run in sarif["runs"]] == [[]]
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "mar validate"
    # The upload step's inputs, as the runner would evaluate them.
    upload = {name: runner.substitute(value) for name, value in STEPS["upload"]["with"].items()}
    assert upload == {"sarif_file": "mar-validate.sarif", "category": "mar-validate"}
    assert runner.run("verdict").returncode == 0
    assert {name: runner.substitute(out["value"]) for name, out in ACTION["outputs"].items()} == {
        "archive": "model-store/m1.mar",
        "sarif-file": "mar-validate.sarif",
        "valid": "true",
        "exit-code": "0",
    }


@pytest.mark.slow
def test_an_invalid_archive_is_reported_then_fails_the_action(runner: Runner) -> None:
    broken = runner.workspace / "prebuilt" / "broken"
    runner.start(archives="prebuilt/broken", validate_args="--select handler")
    assert runner.run("build").stdout == "No model-name: nothing to build.\n"
    checked = runner.run("validate")
    assert checked.returncode == 0, checked.stderr
    assert runner.outputs["validate"] == {
        "exit-code": "1",
        "valid": "false",
        "sarif-file": "mar-validate.sarif",
    }
    assert checked.stdout == (
        f"::error file={broken}/handler.py,line=1,col=26,title=handler.syntax-error::"
        "expected ':'.%0Ahint: Fix the syntax error at the given line.\n"
        "1 archive checked: 0 valid, 1 invalid (1 error).\n"
    )
    sarif = json.loads((runner.workspace / "mar-validate.sarif").read_text())
    (result,) = sarif["runs"][0]["results"]
    assert result["ruleId"] == "handler.syntax-error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == f"file://{broken}/handler.py"
    failed = runner.run("verdict")
    assert failed.returncode == 1
    assert failed.stdout == "::error title=mar validate::mar validate exited 1\n"
    runner.inputs["fail-on-invalid"] = "false"
    assert runner.run("verdict").returncode == 0


@pytest.mark.slow
def test_nothing_to_check_is_an_error(runner: Runner) -> None:
    runner.start()
    assert runner.run("build").returncode == 0
    nothing = runner.run("validate")
    assert (nothing.returncode, nothing.stdout) == (
        2,
        "::error title=mar validate::nothing to check: set model-name (to build) or archives\n",
    )
    runner.start(archives="prebuilt/*.tar.gz")
    unmatched = runner.run("validate")
    assert (unmatched.returncode, unmatched.stdout) == (
        2,
        "::error title=mar validate::no archive matches 'prebuilt/*.tar.gz'\n",
    )
