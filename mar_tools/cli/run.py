"""``mar run``: run an archive's handler like TorchServe's Python backend, without Java."""

from __future__ import annotations

import contextlib
import shlex
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
from mar_tools.core.errors import ExitCode, UsageError
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
from mar_tools.terminal import console, settings
from mar_tools.terminal.help import HelpCommand
from mar_tools.terminal.output_options import output_options
from mar_tools.terminal.reporter import TerminalReporter

#: Signals that stop ``mar run`` the way Ctrl-C does (see :func:`_exit_on_termination`).
_TERMINATION = (signal.SIGTERM, signal.SIGHUP)


#: ``mar run --help``: its many options, by what they are for.
OPTION_GROUPS = (
    ("Inputs", ("--input", "--data", "--content-type", "--header", "--explain")),
    ("Output", ("--output", "--format", "--timings", "--repeat")),
    (
        "Model and device",
        ("--batch-size", "--model-name", "--envelope", "--metrics-config", "--gpu", "--device"),
    ),
    (
        "Environment",
        (
            "--env",
            "--rebuild-env",
            "--installer",
            "--find-links",
            "--index-url",
            "--extra-index-url",
            "--allow-requirements-options",
            "--pip-option",
        ),
    ),
    (
        "Cache and limits",
        ("--cache-dir", "--no-cache", "--max-size", "--max-ratio", "--max-entries"),
    ),
    ("Messages", ("--quiet", "--verbose", "--color", "--debug", "--help")),
)

EXAMPLES = (
    ("mar run model.mar --input kitten.jpg", "one request: stdout is exactly the response body"),
    ("mar run model.mar -i a.json -i b.json --batch-size 2", "two requests in one batch"),
    (
        'mar run model.mar --data \'{"text": "hi"}\' --content-type application/json',
        "a body given inline",
    ),
    ("mar run model.mar -i image=@cat.png", "a multipart form field, like curl -F"),
    ("mar run model.mar", "only load the model (a load check)"),
    ("mar run model.mar -i x.json --repeat 100 --format json", "latency percentiles"),
)


@click.command(
    "run",
    cls=HelpCommand,
    context_settings={"allow_extra_args": True},
    short_help="Run an archive's handler on inputs, as TorchServe would.",
    examples=EXAMPLES,
    option_groups=OPTION_GROUPS,
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
@output_options(quiet_help="Hide the handler's output, its tracebacks and mar's messages.")
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
    Without inputs, the model is only loaded: a load check.

    \b
    Docs: https://github.com/mar-tools/mar-tools/blob/main/docs/run.md
    """
    _refuse_positional_inputs(params["archive"], click.get_current_context().args)
    quiet = settings.current().quiet
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
        quiet=quiet,
        limits=env_options.limits,
    )

    reporter = TerminalReporter(prog="mar", show_progress=console.is_interactive())

    def environment(model: ModelSource, model_dir: Path) -> Interpreter:
        return prepare_environment(model, model_dir, env_options, reporter)

    try:
        with _exit_on_termination():
            result = run_archive(
                options,
                read_stdin=_read_stdin,
                environment=environment,
                reporter=reporter,
            )
    except (LoadFailed, WorkerDied) as exc:
        if exc.details and not quiet:
            _write_stderr(exc.details)
        raise
    _report_details(result, params["archive"])
    if not quiet:
        _report_failures(result)
    if params["timings"] or params["repeat"] > 1:
        _report_timings(result)
    if not specs and params["output_format"] == "body" and params["output"] is None:
        console.info(
            f"{params['archive']}: loaded in {_seconds(result.startup_ms)}; no inputs given "
            "(--input FILE or --data TEXT sends a request)."
        )
        return int(ExitCode.OK)
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


def _refuse_positional_inputs(archive: Path, extra: list[str]) -> None:
    """``mar run m.mar x.json``: inputs are options; say which one."""
    if not extra:
        return
    given = " ".join(f"--input {shlex.quote(value)}" for value in extra)
    raise UsageError(
        f"unexpected argument {extra[0]!r}: mar run takes one ARCHIVE; inputs are options.",
        hint=f"to send it as a request: mar run {shlex.quote(str(archive))} {given}",
    )


def _read_stdin() -> bytes:
    """Standard input, whole; on a terminal, first say that it is being read."""
    if sys.stdin.isatty():
        console.info("reading the request body from standard input (end it with Ctrl-D)...")
    return sys.stdin.buffer.read()


def _seconds(milliseconds: float) -> str:
    return f"{milliseconds:.0f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.1f} s"


def _report_details(result: RunResult, archive: Path) -> None:
    """With ``--verbose``: where the model was extracted and what ran it."""
    console.detail(f"{archive}: model files in {result.model_dir} ({result.extraction})")
    console.detail(f"interpreter: {result.interpreter.python}")
    console.detail(
        f"handler: {result.entry_point}; batch size {result.batch_size}; "
        f"device {result.device.kind}"
    )
    console.detail(
        f"model ready in {result.startup_ms:.0f} ms "
        f"(handler import and initialize: {result.load_ms:.0f} ms)"
    )


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
