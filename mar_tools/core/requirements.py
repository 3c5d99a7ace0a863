"""A reader of pip requirements files that finds what the cache key and the torch check need.

It follows pip's own rules closely enough to see the same files pip will read: logical
lines (``\\`` continuations, ``#`` comments), nested ``-r``/``-c`` files resolved against the
directory of the file that names them, and local wheels, sdists and directories resolved
against pip's working directory (the model directory, as in TorchServe). It installs
nothing and never guesses: a line it cannot classify is left to pip.

Unlike pip, it never expands ``${VAR}`` from this machine's environment: an archive's
requirements are not allowed to (see :mod:`mar_tools.core.requirements_policy`), so each
reference is recorded (:attr:`RequirementsSet.variables`) and the text is kept as written,
in the environment key too. Index-changing options (:data:`INDEX_OPTIONS`) are recorded as
well, and paths outside the model are never looked up (:class:`LocalReference.outside`).
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import urllib.parse
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Literal

from mar_tools.core.model_files import FileKind, ModelFiles, is_outside, normalize

#: File name endings pip treats as installable archives.
ARCHIVE_SUFFIXES = (
    ".whl",
    ".zip",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tar.lz",
    ".tlz",
)
#: What pip and uv expand from the environment (they take upper case only; any case is
#: recorded here, in case an installer is more lenient).
VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
#: Options that change where packages come from (``--find-links`` only with a URL: a local
#: directory is a path, checked like every other).
INDEX_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "--trusted-host": "--trusted-host",
    "-f": "--find-links",
    "--find-links": "--find-links",
}
_COMMENT = re.compile(r"(^|\s+)#.*$")
_DIRECT_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@\s*(\S+)")
_EXTRAS = re.compile(r"^(.+?)(\[[^\]]+\])$")

Role = Literal["requirements", "constraints", "package", "editable", "find-links"]
_FILE_OPTIONS: dict[str, Role] = {
    "-r": "requirements",
    "--requirement": "requirements",
    "-c": "constraints",
    "--constraint": "constraints",
    "-e": "editable",
    "--editable": "editable",
    "-f": "find-links",
    "--find-links": "find-links",
}


@dataclass(frozen=True)
class NamedRequirement:
    """A requirement as written (without its per-requirement options), with where it was
    written: by name (``foo>=1``), or by URL or path (``foo @ https://...``, ``./foo.whl``)."""

    text: str
    file: str
    line: int
    constraint: bool = False

    @property
    def origin(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass(frozen=True)
class LocalReference:
    """A local path pip will read: a nested requirements file, a wheel, an sdist, a
    directory. ``kind`` is None when the path does not exist (pip will then fail)."""

    name: str
    kind: FileKind | None
    role: Role
    file: str
    line: int

    @property
    def outside(self) -> bool:
        """True for a path outside the model (absolute, or climbing out with ``..``): it is
        never looked up, as it would name a file of whichever machine installs."""
        return is_outside(self.name)


@dataclass(frozen=True)
class OptionUse:
    """An index-changing option (``--index-url URL``...) where it was written."""

    option: str
    value: str
    file: str
    line: int


@dataclass(frozen=True)
class VariableUse:
    """A ``${NAME}`` reference where it was written (pip would expand it)."""

    name: str
    file: str
    line: int


@dataclass(frozen=True)
class RequirementsSet:
    """Everything one top-level requirements file asks for, nested files included.

    ``references`` starts with the top-level file itself; it lists every local path in
    the order pip meets them, without duplicates. ``named`` are the requirements by name
    (constraints included), ``direct`` those given by URL or local path. ``options`` and
    ``variables`` are the index-changing options and the ``${VAR}`` references, in order.
    """

    root: str
    references: tuple[LocalReference, ...]
    named: tuple[NamedRequirement, ...]
    direct: tuple[NamedRequirement, ...] = ()
    options: tuple[OptionUse, ...] = ()
    variables: tuple[VariableUse, ...] = ()


def read_requirements(files: ModelFiles, root: str) -> RequirementsSet:
    """Parse requirements file *root* (a name relative to the model directory)."""
    reader = _Reader(files)
    reader.read_file(normalize(root), "requirements", root, 0)
    return RequirementsSet(
        root,
        tuple(reader.references),
        tuple(reader.named),
        tuple(reader.direct),
        tuple(reader.options),
        tuple(reader.variables),
    )


class _Reader:
    def __init__(self, files: ModelFiles) -> None:
        self.files = files
        self.references: list[LocalReference] = []
        self.named: list[NamedRequirement] = []
        self.direct: list[NamedRequirement] = []
        self.options: list[OptionUse] = []
        self.variables: list[VariableUse] = []
        self._seen: set[str] = set()

    def add(self, name: str, role: Role, file: str, line: int) -> FileKind | None:
        name = normalize(name)
        kind = None if is_outside(name) else self.files.kind(name)
        if name not in self._seen:
            self._seen.add(name)
            self.references.append(LocalReference(name, kind, role, file, line))
        return kind

    def read_file(self, name: str, role: Role, parent: str, line: int) -> None:
        already = name in self._seen
        kind = self.add(name, role, parent, line)
        if already or kind != "file":
            return
        text = self.files.read(name).decode("utf-8", errors="replace")
        for number, logical in logical_lines(text):
            self.read_line(name, number, logical, constraint=role == "constraints")

    def read_line(self, file: str, number: int, line: str, *, constraint: bool) -> None:
        for match in VARIABLE.finditer(line):
            self.variables.append(VariableUse(match.group(0), file, number))
        for option, value in index_options(line):
            self.options.append(OptionUse(option, value, file, number))
        if line.startswith("-"):
            for role, value in file_options(line):
                self.read_option(file, number, role, value)
            return
        # Per-requirement options (``--hash=...``) follow the requirement itself.
        words = line.split()
        cut = next((i for i, word in enumerate(words) if word.startswith("-")), len(words))
        requirement = " ".join(words[:cut])
        path = local_path(requirement)
        if path is not None:
            self.add(path, "package", file, number)
        by_name = path is None and not is_url(requirement)
        entry = NamedRequirement(requirement, file, number, constraint)
        (self.named if by_name else self.direct).append(entry)

    def read_option(self, file: str, number: int, role: Role, value: str) -> None:
        if role in ("requirements", "constraints"):
            if not is_url(value) or value.startswith("file:"):
                target = url_path(value) if value.startswith("file:") else value
                nested = posixpath.join(posixpath.dirname(file), target)
                self.read_file(normalize(nested), role, file, number)
        elif role == "editable":
            path = local_path(value)
            if path is not None:
                self.add(path, "editable", file, number)
        elif role == "find-links" and (not is_url(value) or value.startswith("file:")):
            target = url_path(value) if value.startswith("file:") else value
            # pip prefers a find-links path relative to the requirements file when it exists.
            beside = normalize(posixpath.join(posixpath.dirname(file), target))
            chosen = beside if self.files.kind(beside) is not None else target
            self.add(chosen, "find-links", file, number)


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (first line number, text) for each non-empty logical line, as pip reads them:
    continuations joined, then comments removed; ``${VAR}`` is left as written (pip would
    expand it next)."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if _COMMENT.match(raw):
            # A comment line ends a continuation; pip prefixes it with a space so that it
            # is still a comment once joined to the line before.
            raw = " " + raw
        elif raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        yield from _logical(start, "".join(pending))
        pending = []
    if pending:
        yield from _logical(start, "".join(pending))


def _logical(number: int, joined: str) -> Iterator[tuple[int, str]]:
    line = _COMMENT.sub("", joined).strip()
    if line:
        yield number, line


def _option_values(line: str, known: Container[str]) -> Iterator[tuple[str, str]]:
    """(option, value) for each option of *known* on *line* (``-r x``, ``--find-links=y``,
    ``-ez``), in order."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        name, _, attached = word.partition("=") if word.startswith("--") else (word, "", "")
        if not word.startswith("--") and len(word) > 2 and word[:2] in known:
            name, attached = word[:2], word[2:]
        if name not in known:
            continue
        if attached:
            yield name, attached
        elif index < len(words):
            yield name, words[index]
            index += 1


def file_options(line: str) -> Iterator[tuple[Role, str]]:
    """The file-naming options on an option line (``-r x``, ``--find-links=y``, ``-ez``)."""
    for name, value in _option_values(line, _FILE_OPTIONS):
        yield _FILE_OPTIONS[name], value


def index_options(line: str) -> Iterator[tuple[str, str]]:
    """The index-changing options anywhere on *line*, by their long names, with their
    values (``--find-links`` only when it gives a URL)."""
    for name, value in _option_values(line, INDEX_OPTIONS):
        option = INDEX_OPTIONS[name]
        if option != "--find-links" or (is_url(value) and not value.startswith("file:")):
            yield option, value


def is_url(text: str) -> bool:
    """True for ``scheme://...`` and ``file:`` requirement texts (and PEP 508 ``@`` URLs)."""
    return "://" in text or text.startswith("file:") or bool(_DIRECT_REFERENCE.match(text))


def url_path(url: str) -> str:
    """The local path of a ``file:`` URL."""
    # Imported here: urllib.request costs a run that finds its environment ~15 ms (it pulls
    # in http.client, email and ssl), and only file: URLs need it.
    from urllib.request import url2pathname

    parsed = urllib.parse.urlparse(url)
    return url2pathname(urllib.parse.unquote(parsed.path))


def local_path(requirement: str) -> str | None:
    """The local path a requirement text names, or None for a requirement by name or a
    remote URL. Follows pip: a path looks like one (a ``/`` or a leading ``.``) or ends like
    an archive; whether it exists is the caller's question (pip fails on a missing one)."""
    direct = _DIRECT_REFERENCE.match(requirement)
    if direct:
        url = direct.group(2)
        return url_path(url) if url.startswith("file:") else None
    if requirement.startswith("file:"):
        return url_path(requirement.split(" ;")[0].split("; ")[0])
    if "://" in requirement:
        return None
    candidate = requirement.split(";", 1)[0].strip()
    extras = _EXTRAS.match(candidate)
    if extras:
        candidate = extras.group(1)
    looks_like_path = "/" in candidate or os.sep in candidate or candidate.startswith(".")
    if looks_like_path or candidate.lower().endswith(ARCHIVE_SUFFIXES):
        return candidate
    return None
