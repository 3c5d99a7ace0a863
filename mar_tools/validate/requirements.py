"""The requirements file: lines pip cannot parse, files it refers to, and torch.

TorchServe installs the requirements with ``pip install -U -t <model_dir> -r <file>`` (or
into a per-model venv) when ``install_py_dep_per_model`` is on; a line pip rejects makes
registration fail, and a requirement on torch (or on a package pinning it) makes pip
install a second torch next to the server's. Files are located by the same reader the
environment cache uses (:mod:`mar_tools.environment.requirements`), so validation and
``mar run`` agree on what pip would read.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mar_tools.report.finding import Finding
from mar_tools.validate.catalog import finding
from mar_tools.validate.subject import READ_ERRORS, Subject

if TYPE_CHECKING:
    from mar_tools.environment.requirements import RequirementsSet

#: Distributions that are torch or pin an exact torch version.
TORCH_PACKAGES = frozenset({"torch", "torchvision", "torchaudio", "torchtext"})
#: Options pip accepts in a requirements file (global ones, and per requirement).
PIP_OPTIONS = frozenset(
    {"-i", "--index-url", "--extra-index-url", "--no-index", "-c", "--constraint", "-r",
     "--requirement", "-e", "--editable", "-f", "--find-links", "--no-binary",
     "--only-binary", "--prefer-binary", "--require-hashes", "--pre", "--trusted-host",
     "--use-feature", "--hash", "--config-settings", "--global-option"}
)  # fmt: skip


def requirements_member_name(subject: Subject) -> str | None:
    """The requirements file's name in the archive, when the manifest names one."""
    manifest = subject.manifest
    name = manifest.model.requirements_file if manifest else None
    return posixpath.normpath(name) if name else None


def check_requirements(subject: Subject) -> Iterator[Finding]:
    """Findings for requirement lines pip rejects, missing files, and torch."""
    name = requirements_member_name(subject)
    member = subject.find(name) if name else None
    if name is None or member is None:
        return
    data = subject.read_text(member)
    if data is None:
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield finding("requirements.syntax", f"{name} is not UTF-8 text ({exc.reason}).", name)
        return
    from mar_tools.environment.requirements import logical_lines

    for number, line in logical_lines(text):
        yield from _option_findings(name, number, line)
        if not line.startswith("-") and "@" in line:  # a direct reference: name @ url
            yield from _requirement_findings(line.split(" -", 1)[0].strip(), name, number)
    parsed = _read(subject, name)
    if parsed is None:
        return  # an unreadable nested file is reported by the content pass
    for reference in parsed.references[1:]:
        if reference.kind is None:
            yield finding(
                "requirements.missing-file",
                f"refers to {reference.name!r}, which is not in the archive.",
                reference.file,
                line=reference.line,
            )
    for requirement in parsed.named:
        yield from _requirement_findings(requirement.text, requirement.file, requirement.line)


def requirement_names(subject: Subject) -> set[str]:
    """Canonical names of the distributions the requirements ask for (empty without any)."""
    name = requirements_member_name(subject)
    if name is None or subject.find(name) is None:
        return set()
    parsed = _read(subject, name)
    if parsed is None:
        return set()
    names: set[str] = set()
    for requirement in parsed.named:
        parsed_name = _parse(requirement.text)
        if isinstance(parsed_name, str):
            names.add(parsed_name)
    for reference in parsed.references[1:]:
        if reference.role in ("package", "editable"):
            names.add(_local_distribution(reference.name))
    return names


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
    # Imported here: the environment package is heavy and most runs never need it.
    from mar_tools.environment.model_files import ArchiveFiles
    from mar_tools.environment.requirements import read_requirements

    try:
        return read_requirements(ArchiveFiles(subject.view), name)
    except READ_ERRORS:
        return None


def _option_findings(name: str, number: int, line: str) -> Iterator[Finding]:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        yield finding("requirements.syntax", f"{exc}.", name, line=number)
        return
    options = [w for w in words if w.startswith("-")] if line.startswith("-") else []
    for word in options:
        option = word.split("=", 1)[0]
        if option not in PIP_OPTIONS and option[:2] not in PIP_OPTIONS:
            yield finding(
                "requirements.syntax",
                f"pip has no requirements-file option {option!r}.",
                name,
                line=number,
            )


def _requirement_findings(text: str, file: str, line: int) -> Iterator[Finding]:
    parsed = _parse(text)
    if isinstance(parsed, Exception):
        yield finding(
            "requirements.syntax",
            f"{text!r} is not a valid requirement ({str(parsed).splitlines()[0]}).",
            file,
            line=line,
        )
    elif parsed in TORCH_PACKAGES:
        yield finding(
            "requirements.torch",
            f"{text!r} makes TorchServe's `pip install -U` install another torch next to "
            "the server's.",
            file,
            line=line,
        )


def _parse(text: str) -> str | Exception:
    """The canonical distribution name of requirement *text*, or the parse error."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement as exc:
        return exc
