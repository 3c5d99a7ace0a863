"""``mar run`` as a library call: archive + inputs in, TorchServe's responses out.

:func:`run_archive` joins the pieces: requests are built first (so a missing input file
fails before any work), the archive is extracted (or found in the cache), the environment
chooses the interpreter, and one worker process loads the handler and answers every batch
(``repeat`` times). It never prints: warnings and progress go to the reporter, and
every outcome is in the returned :class:`RunResult` or a raised :class:`MarToolsError`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mar_tools.core.archive import detect_format
from mar_tools.core.cache import cache_subdir
from mar_tools.core.errors import ArchiveError, LoadFailed, MarToolsError, UsageError, WorkerDied
from mar_tools.core.extraction import ExtractedModel, model_directory
from mar_tools.core.interpreter import Interpreter
from mar_tools.core.limits import Limits
from mar_tools.core.model_files import ModelFiles
from mar_tools.core.model_source import ModelSource, read_model
from mar_tools.core.reporter import Reporter, SilentReporter
from mar_tools.run.conversation import expect_loaded, expect_response
from mar_tools.run.device import DeviceChoice
from mar_tools.run.inputs import InputSpec, Request, build_requests
from mar_tools.run.process import COMPAT_DIR, WorkerProcess, worker_environment
from mar_tools.run.response import Response, http_responses
from mar_tools.run.stats import LatencyRecorder, LatencySummary
from mar_tools.run.yaml_file import read_yaml
from mar_tools.worker.messages import LoadRequest, Predict, ToWorker

DEFAULT_METRICS_CONFIG = COMPAT_DIR / "ts" / "configs" / "metrics.yaml"
ENVELOPES = ("body", "json", "kserve", "kservev2")

#: Chooses (and builds, when needed) the interpreter a model runs in, given the model and
#: its directory. The CLI passes the per-model environments' ``prepare_environment``; the
#: library default is the interpreter running mar-tools.
EnvironmentProvider = Callable[[ModelSource, Path], Interpreter]


def current_interpreter(_model: ModelSource, _model_dir: Path) -> Interpreter:
    """The :data:`EnvironmentProvider` that runs every model in this interpreter."""
    return Interpreter()


@dataclass(frozen=True)
class RunOptions:
    """Everything ``mar run`` was asked to do (the command line, parsed)."""

    archive: Path
    inputs: tuple[InputSpec, ...] = ()
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    batch_size: int | None = None
    device: DeviceChoice = field(default_factory=DeviceChoice)
    explain: bool = False
    envelope: str | None = None
    metrics_config: Path | None = None
    model_name: str | None = None
    repeat: int = 1
    use_cache: bool = True
    #: The cache root (``--cache-dir``); None: ``$MAR_CACHE_DIR`` or the user cache dir.
    cache_dir: Path | None = None
    quiet: bool = False
    #: What the archive may expand to (``--max-size``, ``--max-ratio``, ``--max-entries``).
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class BatchFailure:
    """Why a batch failed: the handler's exception, trimmed to its own frames."""

    batch: int
    error_type: str
    message: str
    traceback: str


@dataclass(frozen=True)
class RunResult:
    """The responses of the first repetition, and how the run went (``metrics``: those of
    the load and the first repetition; ``latency``: every repetition's)."""

    model: ModelSource
    model_name: str
    model_dir: Path
    extraction: str
    interpreter: Interpreter
    entry_point: str
    ts_package: str
    batch_size: int
    device: DeviceChoice
    startup_ms: float
    load_ms: float
    responses: tuple[Response, ...]
    requests: tuple[Request, ...]
    #: Every batch's latency (all repetitions), summarized; None when there was no batch.
    latency: LatencySummary | None
    failures: tuple[BatchFailure, ...] = ()
    metrics: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every response has a status below 400."""
        return all(response.ok for response in self.responses)


def default_model_name(archive: Path) -> str:
    """The name TorchServe gives a model whose manifest has none: the file's stem."""
    name = archive.resolve().name if archive.is_dir() else archive.name
    for suffix in (".tar.gz", ".tgz", ".mar", ".zip"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def run_archive(
    options: RunOptions,
    *,
    read_stdin: Callable[[], bytes],
    environment: EnvironmentProvider = current_interpreter,
    reporter: Reporter | None = None,
) -> RunResult:
    """Run the archive's handler on the inputs (see the module docstring).

    *environment* picks the interpreter; *reporter* receives progress messages and the
    loader's and the service's warnings (also kept in :attr:`RunResult.warnings`).

    Raises :class:`UsageError` (bad inputs or metrics config), ``ArchiveError`` (a
    ``BrokenModel`` for a broken manifest or config), :class:`LoadFailed`,
    :class:`DeviceUnavailable`, :class:`WorkerDied` or the environment's
    ``EnvironmentSetupError``.
    """
    reporter = reporter or SilentReporter()
    requests = build_requests(
        options.inputs,
        content_type=options.content_type,
        headers=options.headers,
        explain=options.explain,
        read_stdin=read_stdin,
    )
    metrics_path = (options.metrics_config or DEFAULT_METRICS_CONFIG).absolute()
    metrics_document = _metrics_document(options.metrics_config)
    cache = cache_subdir("extracted", options.cache_dir) if options.use_cache else None
    fmt = detect_format(options.archive)
    with model_directory(options.archive, cache, options.limits, reporter) as extracted:
        files = ModelFiles.directory(extracted.model_dir)
        model = read_model(files, str(options.archive), fmt)
        if model.manifest.runtime == "LSP":
            raise ArchiveError(
                f"{options.archive}: runtime LSP (TorchServe's C++ backend) is not supported "
                "by mar run."
            )
        interpreter = environment(model, extracted.model_dir)
        try:
            return _run_worker(
                options,
                extracted,
                model,
                interpreter,
                requests,
                metrics_path,
                metrics_document,
                reporter,
            )
        except (LoadFailed, WorkerDied) as exc:
            names = ArchiveNames(extracted.model_dir, options.archive)
            raise type(exc)(
                names.shown(exc.message),
                hint=names.shown(exc.hint) if exc.hint else None,
                details=names.shown(exc.details),
            ) from exc


@dataclass(frozen=True)
class ArchiveNames:
    """Paths of the extracted model as the user knows them: ``m.mar/handler.py``, not
    ``~/.cache/mar-tools/extracted/v2/sha256-8b18.../handler.py``, in the tracebacks and
    messages ``mar run`` shows."""

    model_dir: Path
    archive: Path

    def shown(self, text: str) -> str:
        """*text* with the model directory (as given and resolved) replaced by the archive's
        name; unchanged when the archive is the directory itself."""
        if self.model_dir.resolve() == self.archive.resolve():
            return text
        for spelling in {str(self.model_dir.resolve()), str(self.model_dir.absolute())}:
            text = text.replace(spelling + os.sep, f"{self.archive}{os.sep}")
            text = text.replace(spelling, str(self.archive))
        return text


def _messages(
    load: LoadRequest, batches: Sequence[list[Request]], repeat: int
) -> Iterator[ToWorker]:
    """The load request, then every batch *repeat* times, made as the writer asks for them."""
    yield load
    for repetition in range(repeat):
        for index, batch in enumerate(batches):
            yield Predict(repetition * len(batches) + index, tuple(batch))


def _metrics_document(given: Path | None) -> Any:
    """The parsed metrics configuration: *given* (``--metrics-config``) or TorchServe's."""
    if given is None:
        return read_yaml(DEFAULT_METRICS_CONFIG, "metrics config")
    try:
        return read_yaml(given, "metrics config")
    except MarToolsError as exc:
        raise UsageError(f"--metrics-config {exc.message}") from exc


def _run_worker(
    options: RunOptions,
    extracted: ExtractedModel,
    model: ModelSource,
    interpreter: Interpreter,
    requests: Sequence[Request],
    metrics_path: Path,
    metrics_document: Any,
    reporter: Reporter,
) -> RunResult:
    batch_size = model.batch_size(options.batch_size)
    model_name = model.name(default_model_name(options.archive), options.model_name)
    batches = [list(requests[i : i + batch_size]) for i in range(0, len(requests), batch_size)]
    load = LoadRequest(
        model_name=model_name,
        model_dir=str(extracted.model_dir),
        handler=model.handler,
        device=options.device.kind,
        device_index=options.device.index,
        device_flag=options.device.flag,
        batch_size=batch_size,
        envelope=options.envelope,
        limit_max_image_pixels=True,
        metrics_config=str(metrics_path),
        metrics_document=metrics_document,
        model_yaml_config=model.model_yaml_config,
        manifest=model.manifest.raw,
    )
    first_round = [Predict(index, tuple(batch)) for index, batch in enumerate(batches)]
    for message in (load, *first_round):
        message.to_json()  # an encoding error is raised here, not in the writer thread
    labels = {request.request_id: request.label for request in requests}
    env = worker_environment(os.environ, interpreter.env, extracted.model_dir, model.handler)
    started = time.perf_counter()
    with WorkerProcess.start(
        interpreter.python,
        env,
        extracted.model_dir,
        quiet=options.quiet,
        inherited_fds=interpreter.inherited_fds,
    ) as worker:
        worker.send_all(_messages(load, batches, options.repeat))
        loaded = expect_loaded(worker, options.metrics_config or metrics_path)
        startup_ms = (time.perf_counter() - started) * 1000
        warnings = list(loaded.warnings)
        for warning in warnings:
            reporter.warning(warning)
        metrics = list(loaded.metrics)
        responses: list[Response] = []
        latencies = LatencyRecorder()
        failures: list[BatchFailure] = []
        for number in range(len(batches) * options.repeat):
            answer = expect_response(worker, number)
            latencies.add(answer.elapsed_ms)
            if number >= len(batches):
                continue  # repetitions: only their latency is kept (memory stays flat)
            metrics.extend(answer.metrics)
            for warning in answer.warnings:
                warnings.append(warning)
                reporter.warning(warning)
            responses.extend(http_responses(answer.frames, labels, number))
            if answer.failure is not None:
                failure = answer.failure
                names = ArchiveNames(extracted.model_dir, options.archive)
                failures.append(
                    BatchFailure(
                        number,
                        failure.error_type,
                        names.shown(failure.message),
                        names.shown(failure.traceback),
                    )
                )
    return RunResult(
        model=model,
        model_name=model_name,
        model_dir=extracted.model_dir,
        extraction=extracted.how,
        interpreter=interpreter,
        entry_point=loaded.entry_point,
        ts_package=loaded.ts_package,
        batch_size=batch_size,
        device=options.device,
        startup_ms=startup_ms,
        load_ms=loaded.load_ms,
        responses=tuple(responses),
        requests=tuple(requests),
        latency=latencies.summary(),
        failures=tuple(failures),
        metrics=tuple(metrics),
        warnings=tuple(warnings),
    )
