"""The one way every command reads a model: its manifest, its model config and its files.

``mar validate``, ``mar run`` and ``mar env`` read a model through this module, from a
``.mar`` zip, a ``.tar.gz`` or a directory alike (through :class:`ModelFiles`), so the
same broken archive gets the same message from each. A problem is a :class:`ModelProblem`:
the catalogue code ``mar validate`` reports it under, and the message. ``mar validate``
turns problems into findings; :func:`read_model` raises them as :class:`BrokenModel`
(an :class:`~mar_tools.core.errors.ArchiveError`, exit code 3).

A model is unusable, for every command, when (TorchServe refuses it as well):

* ``MAR-INF/MANIFEST.json`` is missing, or is not a UTF-8 JSON object;
* the manifest has no ``model`` object or no handler;
* a file the manifest names is unsafe (it leaves the model directory) or not there;
* the model config it names is not valid YAML, or is not a mapping.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mar_tools.core.archive.member import ContainerFormat, name_problems
from mar_tools.core.archive.view import READ_ERRORS
from mar_tools.core.errors import ArchiveError, problems_message
from mar_tools.core.manifest import (
    CONFIG_FILE,
    HANDLER,
    MANIFEST_PATH,
    MODEL,
    MODEL_FILE,
    REQUIREMENTS_FILE,
    SERIALIZED_FILE,
    Manifest,
)
from mar_tools.core.model_files import ModelFiles
from mar_tools.core.record import record

#: Manifest keys naming files that must be in the archive.
if TYPE_CHECKING:
    from mar_tools.core.yaml_document import YamlDocument

FILE_KEYS = (SERIALIZED_FILE, MODEL_FILE, REQUIREMENTS_FILE, CONFIG_FILE)
#: Manifests, model configs and other text files larger than this are not read.
TEXT_LIMIT = 16 << 20
REBUILD_HINT = "rebuild the archive with torch-model-archiver; `mar validate` lists every problem."


@record
class ModelProblem:
    """Why a model cannot be used: a catalogue ``code`` and a ``message`` (one sentence).

    ``member`` is the file it is about, with ``pointer`` (a JSON pointer into it) and
    ``line``/``column`` (1-based) when known.
    """

    code: str
    message: str
    member: str | None = None
    pointer: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None

    def describe(self) -> str:
        """The message, with the line and column when known (for one-line errors)."""
        if self.line is None:
            return self.message
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{self.message.rstrip('.')} ({where})."


class BrokenModel(ArchiveError):
    """The model at *display* cannot be used; ``problems`` says every reason, in order."""

    def __init__(self, display: str, problems: Sequence[ModelProblem]) -> None:
        self.problems = tuple(problems)
        message = problems_message(display, [problem.describe() for problem in self.problems])
        hint = next((p.hint for p in self.problems if p.hint), REBUILD_HINT)
        super().__init__(message, hint=hint)


def manifest_missing(fmt: ContainerFormat, raw_names: Sequence[str] = ()) -> ModelProblem:
    """The problem of a model without ``MAR-INF/MANIFEST.json``, with a hint for the
    layouts people get wrong (*raw_names*: the names as stored in the container).

    A zip (or a directory) whose manifest sits one folder down (``folder/MAR-INF/...``) was
    made from the model's folder rather than from its contents: the message names the folder
    and the hint says how to fix it.
    """
    hint = None
    message = f"{MANIFEST_PATH} is not in the archive."
    nested = sorted(
        name[: -len(MANIFEST_PATH)]
        for name in raw_names
        if name.endswith("/" + MANIFEST_PATH) and name.count("/") == MANIFEST_PATH.count("/") + 1
    )
    if fmt is ContainerFormat.TGZ and any(
        name == MANIFEST_PATH or name.endswith("/" + MANIFEST_PATH) for name in raw_names
    ):
        hint = (
            "TorchServe strips the first path component of every tar.gz entry; put all "
            "files under one top directory (<model-name>/MAR-INF/MANIFEST.json)."
        )
    elif fmt is ContainerFormat.ZIP and nested:
        folder = nested[0]
        message = (
            f"{MANIFEST_PATH} is not at the top of the archive but under {folder!r}: the zip "
            "was made from the model's folder instead of its contents."
        )
        hint = (
            f"zip the folder's contents (cd {folder.rstrip('/')} && zip -r ../model.mar .), "
            f"or build the archive with torch-model-archiver."
        )
    elif fmt is ContainerFormat.DIRECTORY and nested:
        hint = f"point at the model directory itself: {nested[0].rstrip('/')} (it holds MAR-INF/)."
    elif fmt is ContainerFormat.DIRECTORY:
        hint = "Point at the model directory itself (the one holding MAR-INF/)."
    return ModelProblem("manifest.missing", message, hint=hint)


def decode_manifest(data: bytes | None) -> dict[str, Any] | ModelProblem:
    """The manifest's JSON object, or the problem with *data* (None: too large to read)."""
    if data is None:
        return _manifest_problem(f"{MANIFEST_PATH} is too large.")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return _manifest_problem(f"{MANIFEST_PATH} is not UTF-8 text ({exc.reason}).")
    except json.JSONDecodeError as exc:
        message = f"{MANIFEST_PATH} is not valid JSON: {exc.msg}."
        return _manifest_problem(message, line=exc.lineno, column=exc.colno)
    except RecursionError:
        return _manifest_problem(f"{MANIFEST_PATH} nests too deeply to be read.")
    if not isinstance(parsed, dict):
        kind = type(parsed).__name__
        return _manifest_problem(f"{MANIFEST_PATH} holds a JSON {kind}, not an object.")
    return parsed


def _manifest_problem(message: str, **where: Any) -> ModelProblem:
    return ModelProblem("manifest.invalid-json", message, MANIFEST_PATH, **where)


def reference_problems(
    manifest: Mapping[str, Any], present: Callable[[str], bool]
) -> list[ModelProblem]:
    """What is wrong with the ``model`` object of *manifest*: no model, no handler, and
    every file it names that is unsafe or not *present* (a normalized name)."""
    model = manifest.get(MODEL)
    if not isinstance(model, Mapping):
        return [
            ModelProblem(
                "manifest.schema",
                "the manifest has no model object (TorchServe: 'Missing Model entry in "
                "manifest file.').",
                MANIFEST_PATH,
                pointer=f"/{MODEL}",
            )
        ]
    problems: list[ModelProblem] = []
    handler = model.get(HANDLER)
    if not isinstance(handler, str) or not handler:
        state = (
            "is missing"
            if HANDLER not in model
            else "is empty"
            if handler == ""
            else f"must be a string, not {_json_type(handler)}"
        )
        problems.append(
            ModelProblem(
                "manifest.schema",
                f"model.handler {state}; TorchServe cannot load a model without a handler.",
                MANIFEST_PATH,
                pointer=f"/{MODEL}/{HANDLER}",
                hint="rebuild the archive with torch-model-archiver --handler ...",
            )
        )
    for key in FILE_KEYS:
        value = model.get(key)
        if not isinstance(value, str) or not value:
            continue
        pointer = f"/{MODEL}/{key}"
        unsafe = name_problems(value)
        if unsafe:
            reasons = ", ".join(reason for _, reason in unsafe)
            message = f"model.{key} {value!r} is unsafe ({reasons})."
            problems.append(
                ModelProblem("manifest.unsafe-reference", message, MANIFEST_PATH, pointer)
            )
        elif not present(posixpath.normpath(value)):
            message = f"model.{key} names {value!r}, which is not in the archive."
            problems.append(ModelProblem("manifest.missing-file", message, MANIFEST_PATH, pointer))
    return problems


def _json_type(value: object) -> str:
    """The JSON name of *value*'s type (``number``, ``object``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return (
        "an object"
        if isinstance(value, Mapping)
        else "an array"
        if isinstance(value, list)
        else "a string"
    )


def decode_model_config(name: str, data: bytes | None) -> YamlDocument | ModelProblem:
    """The parsed model config *name* (a mapping), or the problem with *data*."""
    if data is None:
        return ModelProblem("config.invalid-yaml", f"{name} is too large to be read.", name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ModelProblem(
            "config.invalid-yaml", f"{name} is not UTF-8 text ({exc.reason}).", name
        )
    # Imported here: a config is rare, and YAML positions are costly to import.
    from mar_tools.core.yaml_document import YamlProblem, parse_yaml

    document = parse_yaml(text)
    if isinstance(document, YamlProblem):
        message = f"{name} is not valid YAML: {document.message}."
        return ModelProblem(
            "config.invalid-yaml", message, name, line=document.line, column=document.column
        )
    if not isinstance(document.value, dict):
        kind = "empty" if document.value is None else f"a {type(document.value).__name__}"
        return ModelProblem(
            "config.not-mapping",
            f"{name} is {kind}, not a mapping (TorchServe refuses to register the model).",
            name,
        )
    return document


@record
class ModelSource:
    """A model whose manifest and config were read and found usable.

    ``model_yaml_config`` is what the handler sees as ``context.model_yaml_config``: the
    parsed ``configFile``, or ``{}`` when the manifest names none.
    """

    display: str
    files: ModelFiles
    manifest: Manifest
    model_yaml_config: Mapping[str, Any]

    @property
    def handler(self) -> str:
        """The manifest's handler reference (never empty)."""
        return self.manifest.model.handler

    def name(self, default: str, override: str | None = None) -> str:
        """*override*, else the manifest's model name, else *default* (as TorchServe)."""
        return override or self.manifest.model.model_name or default

    def batch_size(self, requested: int | None) -> int:
        """*requested*, else a positive integer ``batchSize`` from the config, else 1."""
        if requested is not None:
            return requested
        value = self.model_yaml_config.get("batchSize")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return 1


def read_model(files: ModelFiles, display: str, fmt: ContainerFormat | None = None) -> ModelSource:
    """Read the model *files* hold (*display* names it in messages; *fmt* is the container
    the user gave, when *files* are its extracted copy).

    Raises :class:`BrokenModel` with every problem found (see the module docstring).
    """
    view = files.view
    member = view.find(MANIFEST_PATH)
    if member is None:
        raw = [m.raw_name for m in view.members]
        raise BrokenModel(display, [manifest_missing(fmt or view.format, raw)])
    data = _read_limited(files, MANIFEST_PATH, member.size)
    decoded = decode_manifest(data)
    if isinstance(decoded, ModelProblem):
        raise BrokenModel(display, [decoded])
    problems = reference_problems(decoded, lambda name: view.find(name) is not None)
    manifest = Manifest.from_mapping(decoded)
    config: Mapping[str, Any] = {}
    name = manifest.model.config_file
    if name and not any(p.pointer == f"/{MODEL}/{CONFIG_FILE}" for p in problems):
        normalized = posixpath.normpath(name)
        size = view.find(normalized)
        data = _read_limited(files, normalized, size.size if size else 0)
        parsed = decode_model_config(normalized, data)
        if isinstance(parsed, ModelProblem):
            problems.append(parsed)
        else:
            config = parsed.value
    if problems:
        raise BrokenModel(display, problems)
    return ModelSource(display, files, manifest, config)


def _read_limited(files: ModelFiles, name: str, size: int) -> bytes | None:
    """The bytes of *name*, or None when it declares more than :data:`TEXT_LIMIT`."""
    if size > TEXT_LIMIT:
        return None
    try:
        with files.open(name) as stream:
            data = stream.read(TEXT_LIMIT + 1)
    except ArchiveError:
        raise
    except OSError as exc:
        raise ArchiveError(f"{name}: cannot read ({exc.strerror or exc}).") from exc
    except READ_ERRORS as exc:
        raise ArchiveError(f"{name}: the archive is corrupt ({exc}).") from exc
    return None if len(data) > TEXT_LIMIT else data
