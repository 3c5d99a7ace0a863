"""The archive under validation, as every check sees it.

A :class:`Subject` wraps the open :class:`~mar_tools.core.archive.ArchiveView` with what checks
share: the options, small files read once, the parsed manifest (set by the manifest
check) and the members whose bytes turned out unreadable (reported once, not by every
check that tried to read them).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from mar_tools.core.archive import READ_ERRORS, ArchiveView, Member
from mar_tools.core.manifest import Manifest
from mar_tools.core.python_source import SourceModule, parse_source
from mar_tools.core.record import field, record
from mar_tools.validate.options import MiB, ValidateOptions

#: Text files (manifest, code, config, requirements) larger than this are not read.
TEXT_LIMIT = 16 * MiB


@record(frozen=False)
class Subject:
    """One archive being validated (mutable: checks fill in what later checks need)."""

    display: str
    view: ArchiveView
    options: ValidateOptions
    manifest: Manifest | None = None
    #: Member name -> why its bytes could not be read.
    unreadable: dict[str, str] = field(default_factory=dict)
    #: Members the content pass already reported as corrupt.
    corrupt: set[str] = field(default_factory=set)
    #: Codes whose check did not run on this archive (``--quick``, limits exceeded...).
    skipped: set[str] = field(default_factory=set)
    #: The parsed model-config.yaml when it is a mapping (set by the config check).
    model_config: Mapping[str, Any] | None = None
    #: Canonical names of the distributions the requirements install (set by their check).
    requirement_names: set[str] = field(default_factory=set)
    _sources: dict[int, SourceModule | None] = field(default_factory=dict)
    _texts: dict[int, bytes | None] = field(default_factory=dict)

    @property
    def format(self) -> str:
        return self.view.format.value

    def find(self, name: str) -> Member | None:
        """The regular file TorchServe would find at *name*, or None."""
        return self.view.find(name)

    def has_dir(self, name: str) -> bool:
        """True when some member lies under directory *name*."""
        return name.rstrip("/") in self._tree[0]

    def files_in(self, directory: str) -> list[str]:
        """Base names of the regular files directly in *directory* ('' for the root)."""
        return self._tree[1].get(directory.rstrip("/"), [])

    @functools.cached_property
    def _tree(self) -> tuple[frozenset[str], dict[str, list[str]]]:
        """Every directory that holds a member, and the files of each (built once)."""
        directories: set[str] = set()
        files: dict[str, list[str]] = {}
        for member in self.view.members:
            parent, _, base = member.name.rpartition("/")
            if member.kind == "file":
                files.setdefault(parent, []).append(base)
            while parent and parent not in directories:
                directories.add(parent)
                parent = parent.rpartition("/")[0]
        return frozenset(directories), files

    def read_text(self, member: Member) -> bytes | None:
        """The bytes of a small *member*, read once; None when unreadable or too large.

        A read failure is kept in :attr:`unreadable` (reported once, as ``entry.corrupt``);
        a member over :data:`TEXT_LIMIT` is not read at all and is the caller's to report.
        """
        if member.index in self._texts:
            return self._texts[member.index]
        data: bytes | None = None
        if member.size <= TEXT_LIMIT:
            try:
                data = self.view.read(member, limit=TEXT_LIMIT)
            except READ_ERRORS as exc:
                self.unreadable.setdefault(member.name, str(exc) or type(exc).__name__)
        self._texts[member.index] = data
        return data

    def source(self, member: Member) -> SourceModule | None:
        """*member* parsed as Python (cached); None when its bytes cannot be read."""
        if member.index not in self._sources:
            data = self.read_text(member)
            self._sources[member.index] = None if data is None else parse_source(member.name, data)
        return self._sources[member.index]
