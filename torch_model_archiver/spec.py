"""What to build: :class:`ArchiveSpec`, the archiver's typed input, and the closed sets it uses.

A spec holds values, not decisions: its constructor does no work and no I/O. Paths may be
relative; they are resolved against ``base_dir`` (the current directory of the command
line) when the build plans its members. :func:`spec_problems` lists what is wrong with the
values themselves; files are checked when members are planned (``members.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Final

from mar_tools.core.handler_ref import HandlerRef
from mar_tools.core.manifest import Manifest, ModelInfo
from mar_tools.core.record import field, record
from torch_model_archiver.errors import ModelArchiverError
from torch_model_archiver.version import __version__

#: Upstream's model-name filter (matched against the whole name here; upstream's ``re.match``
#: with ``$`` also let a trailing newline through).
MODEL_NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.]*")
SOURCE_DATE_EPOCH: Final = "SOURCE_DATE_EPOCH"
#: The last second ``createdOn`` (``dd/mm/yyyy``) can express: 9999-12-31 23:59:59 UTC.
MAX_SOURCE_DATE_EPOCH: Final = 253_402_300_799


class ArchiveFormat(str, Enum):
    """``--archive-format``: the four output formats of upstream 0.12."""

    DEFAULT = "default"
    ZIP_STORE = "zip-store"
    TGZ = "tgz"
    NO_ARCHIVE = "no-archive"

    @property
    def suffix(self) -> str:
        """What follows the model name in the output's name (upstream's mapping)."""
        return {"default": ".mar", "zip-store": ".mar", "tgz": ".tar.gz", "no-archive": ""}[
            self.value
        ]

    @property
    def is_directory(self) -> bool:
        """True for ``no-archive``, whose output is a directory rather than a file."""
        return self is ArchiveFormat.NO_ARCHIVE


class Runtime(str, Enum):
    """``--runtime``: the language the handler runs in (``LSP`` is the C++ backend)."""

    PYTHON = "python"
    PYTHON3 = "python3"
    LSP = "LSP"


class ExtraFilesLayout(str, Enum):
    """Where ``--extra-files`` land in the archive.

    ``flat`` is upstream's rule: a file goes to the root, a directory's children go to the
    root. ``relative`` keeps each file's path relative to ``base_dir`` (the current
    directory), so ``assets/labels/x.json`` stays ``assets/labels/x.json``.
    """

    FLAT = "flat"
    RELATIVE = "relative"


@record
class ArchiveSpec:
    """Everything one build needs. Field names follow upstream's ``ModelArchiverConfig``.

    ``extra_files`` holds one path, directory or glob per item (no comma splitting here,
    so names containing commas work through the API). ``version`` is the MODEL version
    (``modelVersion``); ``None`` or ``""`` leaves it out of the manifest, as upstream.
    ``source_date_epoch`` makes the output byte-reproducible (see docs/archiver.md).
    """

    model_name: str
    handler: str
    version: str | None
    serialized_file: Path | None = None
    model_file: Path | None = None
    extra_files: tuple[str, ...] = ()
    runtime: Runtime = Runtime.PYTHON
    export_path: Path = Path()
    archive_format: ArchiveFormat = ArchiveFormat.DEFAULT
    force: bool = False
    requirements_file: Path | None = None
    config_file: Path | None = None
    extra_files_layout: ExtraFilesLayout = ExtraFilesLayout.FLAT
    source_date_epoch: int | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    @property
    def handler_ref(self) -> HandlerRef:
        return HandlerRef.parse(self.handler)

    def resolve(self, path: Path | str) -> Path:
        """*path* made absolute against ``base_dir`` (not following symlinks)."""
        return self.base_dir / path

    @property
    def output_path(self) -> Path:
        """The archive file or directory this spec produces (upstream's naming rule)."""
        return self.resolve(self.export_path) / (self.model_name + self.archive_format.suffix)

    def manifest(self, created_on: str) -> Manifest:
        """The manifest upstream would write for the same flags, with *created_on*."""
        info = ModelInfo(
            model_name=self.model_name,
            handler=self.handler_ref.manifest_value,
            serialized_file=_basename(self.serialized_file),
            model_file=_basename(self.model_file),
            model_version=self.version or None,
            requirements_file=_basename(self.requirements_file),
            config_file=_basename(self.config_file),
        )
        return Manifest(
            runtime=self.runtime.value,
            model=info,
            created_on=created_on,
            archiver_version=__version__,
        )


def spec_problems(spec: ArchiveSpec) -> list[str]:
    """What is wrong with the values of *spec* (files are checked when planning members)."""
    problems: list[str] = []
    if not MODEL_NAME_PATTERN.fullmatch(spec.model_name):
        problems.append(
            f"invalid model name {spec.model_name!r}: it must start with a letter or digit "
            "and contain only letters, digits, '_', '-' and '.' "
            r"(upstream's filter ^[A-Za-z0-9][A-Za-z0-9_\-.]*$)"
        )
    epoch = spec.source_date_epoch
    if epoch is not None and not 0 <= epoch <= MAX_SOURCE_DATE_EPOCH:
        problems.append(
            f"{SOURCE_DATE_EPOCH} must be between 0 and {MAX_SOURCE_DATE_EPOCH} "
            f"(the end of the year 9999), not {epoch}"
        )
    return problems


def source_date_epoch_from(environ: Mapping[str, str]) -> int | None:
    """Parse ``SOURCE_DATE_EPOCH`` from *environ*; ``None`` when unset or empty.

    Raises :class:`ModelArchiverError` unless it is ASCII digits (as reproducible-builds.org
    specifies: no sign, no ``_``, no other scripts' digits, which Python's ``int`` accepts).
    Its range is checked with the spec's other values (:func:`spec_problems`).
    """
    raw = environ.get(SOURCE_DATE_EPOCH, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise ModelArchiverError(
            f"{SOURCE_DATE_EPOCH}={raw!r} is not a whole number of seconds since 1970",
            hint="unset it or give whole seconds.",
        )
    return int(raw)


def split_extra_files(value: str | None) -> tuple[str, ...]:
    """Split ``--extra-files`` at commas; blanks around items and empty items are dropped.

    Upstream fails on ``"a, b"`` (it looks for a file named ``" b"``); we strip.
    """
    if not value:
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _basename(path: Path | None) -> str | None:
    return None if path is None else path.name or None
