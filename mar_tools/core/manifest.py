"""The archive manifest (``MAR-INF/MANIFEST.json``): the only module that spells its keys.

Upstream torch-model-archiver 0.12 writes the manifest with ``json.dumps(indent=2)``, no
trailing newline, keys in a fixed order, and optional keys left out when empty. This module
renders byte-identical output and parses manifests leniently (TorchServe ignores unknown
keys, and legacy archives carry extra ones).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Final

from mar_tools.core.errors import ManifestError
from mar_tools.core.record import field, record

MANIFEST_PATH: Final = "MAR-INF/MANIFEST.json"
CREATED_ON_FORMAT: Final = "%d/%m/%Y %H:%M:%S"
RUNTIMES: Final = ("python", "python3", "LSP")

# Top-level keys, in upstream's order.
CREATED_ON: Final = "createdOn"
RUNTIME: Final = "runtime"
MODEL: Final = "model"
ARCHIVER_VERSION: Final = "archiverVersion"

# Keys of the "model" object, in upstream's order.
MODEL_NAME: Final = "modelName"
SERIALIZED_FILE: Final = "serializedFile"
HANDLER: Final = "handler"
MODEL_FILE: Final = "modelFile"
MODEL_VERSION: Final = "modelVersion"
EXTENSIONS: Final = "extensions"
REQUIREMENTS_FILE: Final = "requirementsFile"
CONFIG_FILE: Final = "configFile"
#: Keys the Java frontend also reads (not written by the archiver).
ENVELOPE: Final = "envelope"
DESCRIPTION: Final = "description"


def format_created_on(epoch: float | None = None, *, utc: bool = False) -> str:
    """Return a ``createdOn`` value (``dd/mm/YYYY HH:MM:SS``) for *epoch* (default: now).

    Upstream uses local time; with ``utc=True`` (used for ``SOURCE_DATE_EPOCH``) the value
    does not depend on the machine's time zone, so builds are reproducible everywhere.
    """
    moment = time.time() if epoch is None else epoch
    struct = time.gmtime(moment) if utc else time.localtime(moment)
    return time.strftime(CREATED_ON_FORMAT, struct)


@record
class ModelInfo:
    """The ``model`` object of a manifest. Empty strings count as absent, as upstream."""

    model_name: str
    handler: str
    serialized_file: str | None = None
    model_file: str | None = None
    model_version: str | None = None
    extensions: Mapping[str, Any] | None = None
    requirements_file: str | None = None
    config_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON object in upstream's key order, without falsy values.

        ``handler`` is the exception: upstream always writes it, ``""`` included (TorchServe
        then uses its ``default_service_handler``).
        """
        pairs: list[tuple[str, Any]] = [
            (MODEL_NAME, self.model_name),
            (SERIALIZED_FILE, self.serialized_file),
            (HANDLER, self.handler),
            (MODEL_FILE, self.model_file),
            (MODEL_VERSION, self.model_version),
            (EXTENSIONS, dict(self.extensions) if self.extensions else None),
            (REQUIREMENTS_FILE, self.requirements_file),
            (CONFIG_FILE, self.config_file),
        ]
        return {key: value for key, value in pairs if value or key == HANDLER}


@record
class Manifest:
    """A whole manifest. ``raw`` keeps the parsed JSON of a manifest read from an archive."""

    runtime: str
    model: ModelInfo
    created_on: str | None = None
    archiver_version: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON object in upstream's key order (``createdOn`` first)."""
        out: dict[str, Any] = {}
        if self.created_on:
            out[CREATED_ON] = self.created_on
        out[RUNTIME] = self.runtime
        out[MODEL] = self.model.to_dict()
        if self.archiver_version is not None:
            out[ARCHIVER_VERSION] = self.archiver_version
        return out

    def render(self) -> str:
        """Return the manifest text exactly as upstream writes it (no trailing newline)."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Manifest:
        """Build a manifest from parsed JSON, tolerating unknown keys and wrong types.

        Values of the wrong type are read as absent; checking them is the validator's job.
        """
        model_raw = data.get(MODEL)
        model = model_raw if isinstance(model_raw, Mapping) else {}
        extensions = model.get(EXTENSIONS)
        info = ModelInfo(
            model_name=_text(model.get(MODEL_NAME)) or "",
            handler=_text(model.get(HANDLER)) or "",
            serialized_file=_text(model.get(SERIALIZED_FILE)),
            model_file=_text(model.get(MODEL_FILE)),
            model_version=_text(model.get(MODEL_VERSION)),
            extensions=extensions if isinstance(extensions, Mapping) else None,
            requirements_file=_text(model.get(REQUIREMENTS_FILE)),
            config_file=_text(model.get(CONFIG_FILE)),
        )
        return cls(
            runtime=_text(data.get(RUNTIME)) or "",
            model=info,
            created_on=_text(data.get(CREATED_ON)),
            archiver_version=_text(data.get(ARCHIVER_VERSION)),
            raw=data,
        )

    @classmethod
    def parse(cls, payload: bytes | str, *, source: str = MANIFEST_PATH) -> Manifest:
        """Parse manifest text; raise :class:`ManifestError` unless it is a JSON object."""
        return cls.from_mapping(load_manifest_json(payload, source=source))


def load_manifest_json(payload: bytes | str, *, source: str = MANIFEST_PATH) -> dict[str, Any]:
    """Decode manifest bytes as UTF-8 JSON and return the top-level object.

    Raises :class:`ManifestError` naming *source* when the text is not UTF-8, not JSON,
    or not an object.
    """
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{source} is not UTF-8 text ({exc.reason}).") from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{source} must hold a JSON object, not {type(data).__name__}.")
    return data


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
