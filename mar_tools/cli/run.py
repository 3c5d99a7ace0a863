"""``mar run``: run an archive's handler like TorchServe's Python backend, without Java."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import click

from mar_tools.cli.env_options import env_options_from, environment_options
from mar_tools.cli.limit_options import limit_options
from mar_tools.cli.output_file import check_output, write_output
from mar_tools.core.errors import ExitCode
from mar_tools.core.interpreter import Interpreter
from mar_tools.core.model_source import ModelSource
from mar_tools.env import prepare_environment
from mar_tools.run import (
    ENVELOPES,
    DeviceChoice,
    InputSpec,
    LoadFailed,
    RunOptions,
    RunResult,
    WorkerDied,
    run_archive,
)
from mar_tools.run.inputs import parse_header
from mar_tools.run.render import render_bodies, render_json
from mar_tools.terminal import console
from mar_tools.terminal.reporter import TerminalReporter

#: Signals that stop ``mar run`` the way Ctrl-C does (see :func:`_exit_on_termination`).
_TERMINATION = (signal.SIGTERM, signal.SIGHUP)


@click.command(
    "run",
    context_settings={"help_option_names": ["-h", "--help"]},
    short_help="Run an archive's handler on inputs, as TorchServe would.",
)
@click.argument("archive", type=click.Path(path_type=Path))
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    metavar="FILE|-|NAME=@FILE",
    help="A request: a file as the raw body ('-' reads stdin), or NAME=@FILE as form field "
    "NAME. Repeat for several requests.",
)
@click.option("-d", "--data", multiple=True, metavar="TEXT", help="A request whose body is TEXT.")
@click.option("--content-type", metavar="TYPE", help="Content type of every request body.")
@click.option(
    "-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="A request header."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    metavar="N",
    help="Requests per batch (default: batchSize of model-config.yaml, else 1).",
)
@click.option("--gpu", type=int, metavar="N", help="Run on CUDA device N (TorchServe's gpu_id).")
@click.option("--device", metavar="cpu|cuda|cuda:N|mps", help="Device to run on (default: cpu).")
@click.option("--explain", is_flag=True, help="Ask for explanations (header explain: True).")
@click.option(
    "--envelope", type=click.Choice(ENVELOPES), help="TorchServe's service_envelope setting."
)
@click.option(
    "--metrics-config",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PATH",
    help="TorchServe's metrics_config (a metrics.yaml).",
)
@click.option("--model-name", metavar="NAME", help="Model name (default: the manifest's).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PATH",
    help="Write the output to PATH (atomically) instead of stdout.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["body", "json"]),
    default="body",
    show_default=True,
    help="body: exactly the response body; json: status, headers, body and timings.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    metavar="N",
    default=1,
    show_default=True,
    help="Run all batches N times and report latency percentiles.",
)
@click.option("--timings", is_flag=True, help="Print load time and batch latencies to stderr.")
@click.option("--no-cache", is_flag=True, help="Extract into a fresh temporary directory.")
@click.option("-q", "--quiet", is_flag=True, help="Hide the handler's output and tracebacks.")
@click.option("--debug", is_flag=True, help="Show Python tracebacks of mar itself.")
@environment_options
@limit_options
def command(**params: Any) -> int:
    """Run the handler of ARCHIVE (.mar, .tar.gz or directory) on the inputs.

    With one input, stdout is exactly the body TorchServe would send; with several, a JSON
    array with one element per input. Exit codes: 0 success, 1 a request failed, 2 usage,
    3 archive, 4 load failed, 5 environment, 6 device unavailable, 7 worker died,
    130 interrupted, 143/129 terminated (SIGTERM/SIGHUP).

    \b
    Docs: https://github.com/mar-tools/mar-tools/blob/main/docs/run.md
    """
    env_options = env_options_from(params)
    specs = [InputSpec.parse_input(value) for value in params["inputs"]]
    specs += [InputSpec.from_data(value, i + 1) for i, value in enumerate(params["data"])]
    if params["output"] is not None:
        inputs = [params["archive"], *(spec.path for spec in specs if spec.path is not None)]
        if params["metrics_config"] is not None:
            inputs.append(params["metrics_config"])
        check_output(params["output"], inputs)
    options = RunOptions(
        archive=params["archive"],
        inputs=tuple(specs),
        content_type=params["content_type"],
        headers=tuple(parse_header(text) for text in params["headers"]),
        batch_size=params["batch_size"],
        device=DeviceChoice.from_options(params["gpu"], params["device"]),
        explain=params["explain"],
        envelope=params["envelope"],
        metrics_config=params["metrics_config"],
        model_name=params["model_name"],
        repeat=params["repeat"],
        use_cache=not params["no_cache"],
        cache_dir=env_options.cache_dir,
        quiet=params["quiet"],
        limits=env_options.limits,
    )

    reporter = TerminalReporter(
        prog="mar", show_progress=console.is_interactive() and not params["quiet"]
    )

    def environment(model: ModelSource, model_dir: Path) -> Interpreter:
        return prepare_environment(model, model_dir, env_options, reporter)

    try:
        with _exit_on_termination():
            result = run_archive(
                options,
                read_stdin=lambda: sys.stdin.buffer.read(),
                environment=environment,
                reporter=reporter,
            )
    except (LoadFailed, WorkerDied) as exc:
        if exc.details and not params["quiet"]:
            _write_stderr(exc.details)
        raise
    if not params["quiet"]:
        _report_failures(result)
    if params["timings"] or params["repeat"] > 1:
        _report_timings(result)
    data = (
        render_json(result, str(params["archive"]))
        if params["output_format"] == "json"
        else render_bodies(result.responses)
    )
    if params["output"] is not None:
        write_output(params["output"], data)
    else:
        _write_stdout(data)
    return int(ExitCode.OK if result.ok else ExitCode.FAILURE)


@contextlib.contextmanager
def _exit_on_termination() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into ``SystemExit(128 + signal)`` while the model runs.

    Their default action ends this process at once, leaving the worker's process group (and
    whatever the handler started) running; as an exception, they unwind through the run,
    which kills the group on its way out, like Ctrl-C does.
    """

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, terminate) for signum in _TERMINATION}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _write_stderr(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def _write_stdout(data: bytes) -> None:
    if sys.stdout.isatty():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            console.warning(
                f"the output is {len(data)} bytes of binary data; not printed on a terminal "
                "(use --output FILE)."
            )
            return
        if data and not data.endswith(b"\n"):
            data += b"\n"  # keep the shell prompt on its own line
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _report_failures(result: RunResult) -> None:
    shown: set[int] = set()
    failures = {failure.batch: failure for failure in result.failures}
    for response in result.responses:
        if response.ok:
            continue
        failure = failures.get(response.batch)
        if failure is not None and failure.batch not in shown:
            shown.add(failure.batch)
            _write_stderr(failure.traceback)
        reason = response.error_message or response.phrase or "the handler set this status"
        console.error(f"request {response.label!r} failed: {response.status} {reason}")


def _report_timings(result: RunResult) -> None:
    lines = [
        f"model ready in {result.startup_ms:.0f} ms "
        f"(handler import and initialize: {result.load_ms:.0f} ms)"
    ]
    if result.latency is not None:
        summary = result.latency
        lines.append(
            f"{summary.count} batch{'es' if summary.count != 1 else ''}: "
            f"p50 {summary.p50:.1f} ms, p90 {summary.p90:.1f} ms, p99 {summary.p99:.1f} ms "
            f"(min {summary.minimum:.1f}, max {summary.maximum:.1f})"
        )
    for line in lines:
        console.info(line)
