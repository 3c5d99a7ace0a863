"""``mar run`` on the same archives and requests the suite sends to TorchServe.

Requests that share a content type, headers and form field go to one ``mar run`` process
(its ``--content-type`` and ``--header`` apply to every input; a form upload is
``--input FIELD=@FILE``): with ``--batch-size 1`` each
input is a batch of its own, as each HTTP request sent alone is in TorchServe; the batch
probes go to one process with ``--batch-size`` = their number, so they form one batch.
``--format json`` gives each response's status, content type, handler headers and body.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from tests.compat.answers import Answer
from tests.compat.archives import Archive
from tests.compat.commands import describe, run_mar
from tests.compat.model_spec import Probe


class MarRunError(AssertionError):
    """``mar run`` did not produce a JSON report (it crashed, or the model did not load)."""


@dataclass(frozen=True)
class Call:
    """One ``mar run`` invocation: which archive, requests, batch size, explain, name."""

    archive: Path
    probes: tuple[Probe, ...]
    batch_size: int
    explain: bool
    model_name: str | None = None


def group_probes(probes: Sequence[Probe]) -> list[tuple[Probe, ...]]:
    """Split *probes* into runs of equal (content type, headers, form field), in order."""
    groups: dict[tuple[object, ...], list[Probe]] = {}
    for probe in probes:
        request = probe.request
        key = (request.content_type, tuple(sorted(request.headers.items())), request.form_field)
        groups.setdefault(key, []).append(probe)
    return [tuple(group) for group in groups.values()]


def run_call(call: Call, workdir: Path, env: Mapping[str, str]) -> dict[str, Answer]:
    """Run *call*; returns {probe label: answer}. Raises :class:`MarRunError`."""
    first = call.probes[0].request
    args = ["run", str(call.archive), "--format", "json", "--batch-size", str(call.batch_size)]
    if first.content_type is not None:
        args += ["--content-type", first.content_type]
    for name, value in first.headers.items():
        args += ["--header", f"{name}: {value}"]
    if call.explain:
        args.append("--explain")
    if call.model_name is not None:
        args += ["--model-name", call.model_name]
    inputs: dict[str, str] = {}
    for probe in call.probes:
        path = workdir / f"{probe.label}.body"
        path.write_bytes(probe.request.body)
        field = probe.request.form_field
        spec = str(path) if field is None else f"{field}=@{path}"
        inputs[spec] = probe.label
        args += ["--input", spec]
    done = run_mar(args, env)
    return _answers(done, inputs)


def _answers(
    done: subprocess.CompletedProcess[bytes], inputs: Mapping[str, str]
) -> dict[str, Answer]:
    if done.returncode not in (0, 1):
        raise MarRunError(describe(done))
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise MarRunError(f"not a JSON report:\n{describe(done)}") from None
    answers: dict[str, Answer] = {}
    for response in report["responses"]:
        encoded: str = response["body"]
        body = (
            base64.b64decode(encoded)
            if response["body_encoding"] == "base64"
            else encoded.encode("utf-8")
        )
        # The content type is compared on its own (TorchServe sends it as Content-Type).
        headers = {
            name.lower(): value
            for name, value in response["headers"].items()
            if name.lower() != "content-type"
        }
        answers[inputs[response["input"]]] = Answer(
            response["status"], body, response["content_type"], headers
        )
    missing = sorted(set(inputs.values()) - set(answers))
    if missing:
        raise MarRunError(f"no response for {missing}:\n{describe(done)}")
    return answers


class MarRunSession:
    """Runs and remembers ``mar run`` calls; each distinct call runs once per session.

    :meth:`schedule` queues calls on two background threads, so that ``mar run`` processes
    overlap with TorchServe's work and with each other; a test asking for an answer waits
    for its call (running it at once if it was never scheduled). :meth:`close` cancels what
    has not started.
    """

    def __init__(self, workdir: Path, env: Mapping[str, str]) -> None:
        self._workdir = workdir
        self._env = dict(env)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mar-run")
        self._calls: dict[tuple[object, ...], Future[dict[str, Answer]]] = {}
        self._lock = Lock()

    def schedule(self, archives: Sequence[Archive], batch_names: Mapping[str, str]) -> None:
        """Queue every call the tests will make for *archives* (singles, explanations, and
        the batch of each default-format archive, under ``batch_names[model]``)."""
        for archive in archives:
            for explain in (False, True):
                probes = archive.spec.explanations if explain else archive.spec.singles
                for group in group_probes(probes):
                    self._future(Call(archive.path, group, 1, explain))
            if archive.fmt == "default" and archive.spec.batch:
                batch = archive.spec.batch
                self._future(
                    Call(archive.path, batch, len(batch), False, batch_names[archive.spec.name])
                )

    def singles(self, archive: Archive, explain: bool) -> dict[str, Answer | MarRunError]:
        """Answers to the model's single probes (or explanations), each in its own batch."""
        probes = archive.spec.explanations if explain else archive.spec.singles
        results: dict[str, Answer | MarRunError] = {}
        for group in group_probes(probes):
            results.update(self._answers(Call(archive.path, group, 1, explain)))
        return results

    def batch(self, archive: Archive, model_name: str) -> dict[str, Answer | MarRunError]:
        """Answers to the model's batch probes, all in one batch."""
        probes = archive.spec.batch
        assert len(group_probes(probes)) == 1, "batch probes must share content type and headers"
        return self._answers(Call(archive.path, probes, len(probes), False, model_name))

    def close(self) -> None:
        """Cancel queued calls and wait for running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _answers(self, call: Call) -> dict[str, Answer | MarRunError]:
        try:
            answers = self._future(call).result()
        except MarRunError as error:
            return {probe.label: error for probe in call.probes}
        return {probe.label: answers[probe.label] for probe in call.probes}

    def _future(self, call: Call) -> Future[dict[str, Answer]]:
        labels = tuple(probe.label for probe in call.probes)
        key = (call.archive, labels, call.batch_size, call.explain, call.model_name)
        with self._lock:
            if key not in self._calls:
                workdir = self._workdir / f"call-{len(self._calls)}"
                workdir.mkdir(parents=True)
                self._calls[key] = self._pool.submit(run_call, call, workdir, self._env)
            return self._calls[key]
