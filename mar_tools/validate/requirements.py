"""The requirements file: lines pip cannot parse, files it refers to, torch, and the
requirements policy (index-changing options, ``${VAR}`` references, paths outside the
archive: :mod:`mar_tools.core.requirements_policy`).

TorchServe installs the requirements with ``pip install -U -t <model_dir> -r <file>`` (or
into a per-model venv) when ``install_py_dep_per_model`` is on; a line pip rejects makes
registration fail, and a requirement on torch (or on a package pinning it) makes pip
install a second torch next to the server's. Files are located by the same reader the
environment cache uses (:mod:`mar_tools.core.requirements`), so validation and
``mar run`` agree on what pip would read and on what they refuse; neither looks at anything
outside the archive (a path outside it is reported, never read from this machine).
"""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from mar_tools.core.archive import READ_ERRORS
from mar_tools.core.model_files import ModelFiles, normalize
from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.subject import Subject

if TYPE_CHECKING:
    from mar_tools.core.requirements import RequirementsSet

#: Distributions that are torch or pin an exact torch version.
TORCH_PACKAGES = frozenset({"torch", "torchvision", "torchaudio", "torchtext"})
#: Options pip accepts in a requirements file (global ones, and per requirement).
PIP_OPTIONS = frozenset(
    {"-i", "--index-url", "--extra-index-url", "--no-index", "-c", "--constraint", "-r",
     "--requirement", "-e", "--editable", "-f", "--find-links", "--no-binary",
     "--only-binary", "--prefer-binary", "--require-hashes", "--pre", "--trusted-host",
     "--use-feature", "--hash", "--config-settings", "--global-option"}
)  # fmt: skip
#: A line pip takes as a URL (``git+https://...@tag#egg=x``), not as a PEP 508 requirement:
#: what comes before the first ``:`` is a scheme (``name @ https://...`` is PEP 508).
URL_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _member_name(subject: Subject) -> str | None:
    """The requirements file's name in the archive, when the manifest names one."""
    manifest = subject.manifest
    name = manifest.model.requirements_file if manifest else None
    return posixpath.normpath(name) if name else None


def check_requirements(subject: Subject) -> Iterator[Finding]:
    """Findings for requirement lines pip rejects, missing files, and torch.

    Sets ``subject.requirement_names`` (what the imports check matches imports against).
    """
    name = _member_name(subject)
    if name is None or subject.find(name) is None:
        return
    parsed = _read(subject, name)
    if parsed is None:
        return  # the reader gave up; files it could not read are entry.corrupt
    names = subject.requirement_names
    for reference in parsed.references:
        if reference.kind == "file" and reference.role == "requirements":
            yield from _file_findings(subject, reference.name, names)
        elif reference.kind == "file" and reference.role == "constraints":
            yield from _file_findings(subject, reference.name, None)
        elif reference.role in ("package", "editable"):
            names.add(_local_distribution(reference.name))
        # pip only warns about a --find-links location that does not exist; a path outside
        # the archive is reported by the policy below.
        if reference.kind is None and reference.role != "find-links" and not reference.outside:
            yield finding(
                "requirements.missing-file",
                f"refers to {reference.name!r}, which is not in the archive.",
                reference.file,
                line=reference.line,
            )
    from mar_tools.core.requirements_policy import violations

    for violation in violations(parsed):
        yield finding(violation.code, violation.message, violation.file, line=violation.line)


def _file_findings(subject: Subject, name: str, names: set[str] | None) -> Iterator[Finding]:
    """The findings of requirements file *name*; the distributions it names are added to
    *names* (None for a constraints file, which installs nothing)."""
    member = subject.find(name)
    data = subject.read_text(member) if member is not None else None
    if data is None:
        return  # too large or unreadable (reported as entry.corrupt)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield finding("requirements.syntax", f"{name} is not UTF-8 text ({exc.reason}).", name)
        return
    from mar_tools.core.requirements import local_path, logical_lines

    for number, line in logical_lines(text):
        if line.startswith("-"):
            yield from _option_findings(name, number, line)
            continue
        # Per-requirement options (``--hash=...``) follow the requirement itself.
        requirement = line.split(" -", 1)[0].strip()
        if local_path(requirement) is not None or URL_LINE.match(requirement):
            continue
        parsed = _parse(requirement)
        if isinstance(parsed, Exception):
            reason = str(parsed).splitlines()[0]
            message = f"{requirement!r} is not a valid requirement ({reason})."
            yield finding("requirements.syntax", message, name, line=number)
        elif names is not None:
            names.add(parsed)
            if parsed in TORCH_PACKAGES:
                message = (
                    f"{requirement!r} makes TorchServe's `pip install -U` install another "
                    "torch next to the server's."
                )
                yield finding("requirements.torch", message, name, line=number)


def _local_distribution(path: str) -> str:
    """The distribution a local wheel, sdist or project directory installs, read from its
    name (wheels: ``name-version-...whl``; sdists: ``name-version.tar.gz``)."""
    from packaging.utils import canonicalize_name

    base = posixpath.basename(path.rstrip("/"))
    if base.endswith(".whl"):
        base = base.split("-", 1)[0]
    elif base.endswith((".tar.gz", ".tar.bz2", ".zip")) and "-" in base:
        base = base.rsplit("-", 1)[0]
    return canonicalize_name(base)


def _read(subject: Subject, name: str) -> RequirementsSet | None:
    """The requirements as pip reads them (nested files included), or None if unreadable."""
    # Imported here: the requirements reader is slow to import and most runs never need it.
    from mar_tools.core.requirements import read_requirements

    try:
        return read_requirements(_ArchiveOnly(subject), name)
    except READ_ERRORS:
        return None


class _ArchiveOnly(ModelFiles):
    """The archive's files as the requirements reader sees them, read through the subject
    (each once, at most its text limit)."""

    def __init__(self, subject: Subject) -> None:
        super().__init__(subject.view)
        self._subject = subject

    def read(self, name: str) -> bytes:
        member = self._subject.find(normalize(name))
        data = self._subject.read_text(member) if member is not None else None
        return data or b""

    def open(self, name: str) -> IO[bytes]:
        return io.BytesIO(self.read(name))


def _option_findings(name: str, number: int, line: str) -> Iterator[Finding]:
    import shlex  # only for a line with options, which few requirements files have

    try:
        words = shlex.split(line)
    except ValueError as exc:
        yield finding("requirements.syntax", f"{exc}.", name, line=number)
        return
    for word in words:
        option = word.split("=", 1)[0]
        if option.startswith("-") and option not in PIP_OPTIONS and option[:2] not in PIP_OPTIONS:
            yield finding(
                "requirements.syntax",
                f"pip has no requirements-file option {option!r}.",
                name,
                line=number,
            )


def _parse(text: str) -> str | Exception:
    """The canonical distribution name of requirement *text*, or the parse error."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement as exc:
        return exc
