"""Helpers for the ``mar run`` tests: archives built on the fly, the CLI as a subprocess,
and the same archive run through upstream TorchServe's Python backend.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mar_tools.run.process import worker_environment
from mar_tools.run.response import Response, http_responses
from mar_tools.worker.messages import Frame, FrameEntry

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "upstream_driver.py"

Files = Mapping[str, "str | bytes"]


def manifest(
    handler: str,
    *,
    name: str = "m",
    serialized_file: str | None = None,
    model_file: str | None = None,
    config_file: str | None = None,
    runtime: str = "python",
) -> str:
    """A manifest as torch-model-archiver 0.12 writes it."""
    model: dict[str, str] = {"modelName": name}
    if serialized_file:
        model["serializedFile"] = serialized_file
    model["handler"] = handler
    if model_file:
        model["modelFile"] = model_file
    model["modelVersion"] = "1.0"
    if config_file:
        model["configFile"] = config_file
    document = {
        "createdOn": "01/01/2025 00:00:00",
        "runtime": runtime,
        "model": model,
        "archiverVersion": "0.12.0",
    }
    return json.dumps(document, indent=2)


def source(text: str) -> str:
    """Dedented Python source for a handler or model file."""
    return textwrap.dedent(text).lstrip()


def build_archive(target: Path, files: Files, manifest_text: str | None, fmt: str = "zip") -> Path:
    """Write *files* (+ ``MAR-INF/MANIFEST.json``) as a ``.mar`` zip, a ``.tar.gz`` or a dir.

    *target* is the archive path without its format suffix.
    """
    entries: dict[str, bytes] = {
        name: data.encode() if isinstance(data, str) else data for name, data in files.items()
    }
    if manifest_text is not None:
        entries["MAR-INF/MANIFEST.json"] = manifest_text.encode()
    if fmt == "zip":
        path = target.with_name(target.name + ".mar")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries.items():
                archive.writestr(name, data)
        return path
    if fmt == "tgz":
        path = target.with_name(target.name + ".tar.gz")
        with tarfile.open(path, "w:gz") as archive:
            for name, data in entries.items():
                info = tarfile.TarInfo(f"{target.name}/{name}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return path
    target.mkdir(parents=True)
    for name, data in entries.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(data)
    return target


@dataclass(frozen=True)
class Completed:
    """A finished ``mar`` process."""

    returncode: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.stdout)


def mar_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"MAR_CACHE_DIR": str(cache), "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"})
    env.pop("MAR_DEBUG", None)
    return env


def run_mar(
    args: Sequence[str | os.PathLike[str]],
    *,
    cache: Path,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> Completed:
    """``mar run ARGS`` in a subprocess (this interpreter, so the project's venv)."""
    done = subprocess.run(
        [sys.executable, "-m", "mar_tools", "run", *map(str, args)],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=mar_env(cache),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))


def responses_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The responses of a ``--format json`` document with their bodies as bytes."""
    out = []
    for item in document["responses"]:
        body = item["body"]
        raw = base64.b64decode(body) if item["body_encoding"] == "base64" else body.encode()
        out.append({**item, "body": raw})
    return out


@dataclass(frozen=True)
class SentRequest:
    """A request exactly as ``mar run`` sent it to its worker (to replay it upstream)."""

    request_id: str
    label: str
    headers: list[list[str]]
    parameters: list[tuple[str, str, bytes]]


def sent_requests(
    document: Mapping[str, Any], values: Sequence[Sequence[bytes]]
) -> list[SentRequest]:
    """The requests of a ``--format json`` document; *values* are each request's parameter
    values (the document records only their names, content types and sizes)."""
    out = []
    for item, request_values in zip(document["responses"], values, strict=True):
        meta = item["request"]["parameters"]
        assert [len(v) for v in request_values] == [p["size"] for p in meta]
        out.append(
            SentRequest(
                item["request_id"],
                item["input"],
                item["request"]["headers"],
                [
                    (p["name"], p["content_type"], v)
                    for p, v in zip(meta, request_values, strict=True)
                ],
            )
        )
    return out


def run_upstream(
    python: Path,
    model_dir: Path,
    *,
    handler: str,
    requests: Sequence[SentRequest],
    batch_size: int,
    metrics_config: Path,
    work: Path,
    envelope: str | None = None,
    model_name: str = "m",
    extra_path: Sequence[Path] = (),
) -> list[Response] | str:
    """Upstream's answers to *requests* in batches of *batch_size*, as HTTP responses; or the
    load error (``Type: message``) when the model fails to load. The ``[METRICS]`` lines the
    batches emitted are left in ``work/metrics.json``."""
    batches = [
        [
            {
                "id": request.request_id,
                "headers": request.headers,
                "parameters": [
                    [name, ctype, base64.b64encode(value).decode()]
                    for name, ctype, value in request.parameters
                ],
            }
            for request in requests[start : start + batch_size]
        ]
        for start in range(0, len(requests), batch_size)
    ]
    spec = {
        "model_dir": str(model_dir),
        "model_name": model_name,
        "handler": handler,
        "gpu": None,
        "batch_size": batch_size,
        "envelope": envelope,
        "metrics_config": str(metrics_config),
        "batches": batches,
    }
    work.mkdir(parents=True, exist_ok=True)
    spec_path = work / "spec.json"
    result_path = work / "result.json"
    spec_path.write_text(json.dumps(spec))
    env = worker_environment(os.environ, {}, model_dir, handler)
    if extra_path:
        env["PYTHONPATH"] += os.pathsep + os.pathsep.join(map(str, extra_path))
    done = subprocess.run(
        [str(python), str(DRIVER), str(spec_path), str(result_path)],
        cwd=model_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"upstream driver failed:\n{done.stderr[-4000:]}")
    result = json.loads(result_path.read_text())
    if "load_error" in result:
        return str(result["load_error"])
    (work / "metrics.json").write_text(json.dumps(result.get("metrics", [])))
    labels = {request.request_id: request.label for request in requests}
    responses: list[Response] = []
    for number, frames in enumerate(result["batches"]):
        decoded = [
            Frame(
                frame["code"],
                frame["message"],
                tuple(
                    FrameEntry(
                        r["id"],
                        r["status"],
                        r["phrase"],
                        r["content_type"],
                        r["headers"],
                        base64.b64decode(r["body"]),
                    )
                    for r in frame["responses"]
                ),
            )
            for frame in frames
        ]
        responses.extend(http_responses(decoded, labels, number))
    return responses


def compare_responses(ours: list[dict[str, Any]], theirs: list[Response] | str) -> None:
    """Assert that ``mar run``'s responses equal upstream's: status, content type, headers
    and body of every request, in order."""
    assert not isinstance(theirs, str), f"upstream failed to load: {theirs}"
    assert len(ours) == len(theirs)
    for mine, upstream in zip(ours, theirs, strict=True):
        assert mine["input"] == upstream.label
        assert (mine["status"], mine["content_type"], mine["headers"], mine["body"]) == (
            upstream.status,
            upstream.content_type,
            dict(upstream.headers),
            upstream.body,
        ), f"input {mine['input']!r} differs"


def normalized_metrics(lines: list[str]) -> list[str]:
    """Metric lines without the parts that differ between two runs: durations, the epoch."""
    out = []
    for line in lines:
        line = re.sub(r"(Time\.Milliseconds):[0-9.]+\|", r"\1:T|", line)
        out.append(re.sub(r"(#hostname:[^,]+),\d+", r"\1,EPOCH", line))
    return out


def run_both(
    tmp_path: Path,
    cache: Path,
    upstream_python: Path,
    metrics_config: Path,
    archive: Path,
    handler: str,
    arguments: list[str],
    values: list[list[bytes]],
    *,
    batch_size: int = 1,
    envelope: str | None = None,
    extra_path: tuple[Path, ...] = (),
) -> tuple[list[dict[str, Any]], list[Response] | str, dict[str, Any]]:
    """The same requests through ``mar run --format json`` and through upstream's backend:
    ``(our responses, upstream's responses or load error, our JSON document)``. *values*
    are each request's parameter values, in the order ``mar run`` sends the requests."""
    done = run_mar([archive, "--format", "json", *arguments], cache=cache)
    assert done.returncode in (0, 1), done.stderr
    document = done.json()
    theirs = run_upstream(
        upstream_python,
        Path(document["model"]["model_dir"]),
        handler=handler,
        requests=sent_requests(document, values),
        batch_size=batch_size,
        metrics_config=metrics_config,
        envelope=envelope,
        work=tmp_path / "upstream",
        extra_path=extra_path,
    )
    return responses_of(document), theirs, document


def extraction_name(archive: Path) -> str:
    """The name the extraction cache gives *archive*'s extraction, computed here from the
    file's bytes: ``blake3-<hex>`` where the ``blake3`` package is installed (the hash
    mar-tools then prefers), else ``sha256-<hex>``."""
    data = archive.read_bytes()
    try:
        from blake3 import blake3
    except ImportError:
        return f"sha256-{hashlib.sha256(data).hexdigest()}"
    return f"blake3-{blake3(data).hexdigest()}"


def published(root: Path) -> list[Path]:
    """The extractions published in cache layout directory *root* (``.../v2``)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith(("blake3-", "sha256-")))
