"""Validate archives: open each PATH, run every family of checks, collect a report.

Checks run in a fixed order because later ones use what earlier ones found: names and
zip structure first, then the manifest (which names the files the rest examine), then
the content pass, config, requirements, handler, model file and imports.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from mar_tools._version import __version__
from mar_tools.core.archive import (
    ContainerFormat,
    DirectoryView,
    Member,
    detect_format,
    open_archive,
)
from mar_tools.core.errors import ArchiveError
from mar_tools.core.limits import LimitExceeded
from mar_tools.report.finding import Finding
from mar_tools.report.result import ArchiveResult, Report
from mar_tools.validate.catalog import CATALOG, CODES, finding
from mar_tools.validate.content import check_content, unreadable_findings
from mar_tools.validate.handler import check_handler
from mar_tools.validate.imports import check_imports
from mar_tools.validate.manifest_checks import check_manifest
from mar_tools.validate.model_config import check_config
from mar_tools.validate.model_file import check_model_file
from mar_tools.validate.options import ValidateOptions
from mar_tools.validate.requirements import check_requirements
from mar_tools.validate.structure import check_structure
from mar_tools.validate.subject import Subject

Check = Callable[[Subject], Iterable[Finding]]
CHECKS: tuple[Check, ...] = (
    check_structure,
    check_manifest,
    check_content,
    check_config,
    check_requirements,
    check_handler,
    check_model_file,
    check_imports,
    unreadable_findings,
)
ZIP_ONLY = frozenset(code for code in CODES if code.startswith("zip."))
#: Checks that do not apply to a format (JUnit lists them as skipped, not passed).
NOT_APPLICABLE: dict[ContainerFormat, frozenset[str]] = {
    ContainerFormat.ZIP: frozenset(),
    ContainerFormat.TGZ: ZIP_ONLY | {"entry.encrypted", "entry.unsupported-compression"},
    # A file a directory holds may still be unreadable: entry.corrupt applies.
    ContainerFormat.DIRECTORY: ZIP_ONLY
    | {"entry.encrypted", "entry.unsupported-compression", "entry.crc-mismatch"}
    | {"limits.ratio", "archive.wrong-extension"},
}


def validate_paths(
    paths: Iterable[str | os.PathLike[str]],
    options: ValidateOptions | None = None,
    *,
    strict: bool = False,
) -> Report:
    """Validate every path in *paths*; never raises for a bad archive (it becomes findings).

    With *strict*, warnings make an archive (and the report) invalid too.
    """
    chosen = options or ValidateOptions()
    results = tuple(validate_archive(path, chosen) for path in paths)
    return Report(results=results, checks=CATALOG, strict=strict, tool_version=__version__)


def validate_archive(
    path: str | os.PathLike[str], options: ValidateOptions | None = None
) -> ArchiveResult:
    """Validate one ``.mar``, ``.tar.gz`` or model directory."""
    chosen = options or ValidateOptions()
    target = Path(path)
    found: list[Finding] = []
    skipped: set[str] = set()
    fmt: ContainerFormat | None = None
    root: str | None = None
    try:
        fmt = detect_format(target)
        found.extend(_extension(target, fmt))
        # Full mode scans a tar.gz's large members while opening it: one inflate, not two.
        visit = None if chosen.quick else _early_scan
        view = open_archive(target, fmt, limits=chosen.limits, visit=visit)
    except LimitExceeded as exc:  # found while listing: reading on would set the bomb off
        found.append(finding(exc.code, exc.detail, exc.member))
        skipped.update(c for c in CODES if not c.startswith(("archive.", "limits.")))
    except ArchiveError as exc:
        found.append(finding("archive.unreadable", exc.message))
        skipped.update(c for c in CODES if not c.startswith("archive."))
    else:
        if isinstance(view, DirectoryView):
            root = str(view.root)
        with view:
            subject = Subject(str(path), view, chosen)
            found.extend(_run(subject))
            skipped.update(subject.skipped)
        skipped.update(NOT_APPLICABLE[fmt])
    skipped.update(code for code in CODES if not chosen.wants(code))
    kept = [item for item in dict.fromkeys(found) if chosen.wants(item.code)]
    kept.sort(key=Finding.sort_key)
    return ArchiveResult(
        path=str(path),
        format=fmt.value if fmt else None,
        findings=tuple(kept),
        skipped=frozenset(skipped),
        root=root,
    )


def _run(subject: Subject) -> Iterator[Finding]:
    for check in CHECKS:
        yield from check(subject)


def _extension(path: Path, fmt: ContainerFormat) -> Iterator[Finding]:
    """TorchServe unzips files named *.mar and untars everything else."""
    named_mar = path.name.endswith(".mar")
    if fmt is ContainerFormat.ZIP and not named_mar:
        yield finding(
            "archive.wrong-extension",
            f"{path.name} is a zip archive; TorchServe unzips only files named *.mar and "
            "would try to untar it.",
        )
    elif fmt is ContainerFormat.TGZ and named_mar:
        yield finding(
            "archive.wrong-extension",
            f"{path.name} is a tar.gz archive; TorchServe would try to unzip it because of "
            "its .mar name.",
        )


def _early_scan(member: Member, stream: IO[bytes]) -> object:
    """:func:`.early_scan.early_scan`, imported on first use (it loads the pickle scanner,
    which a small valid archive never needs: issue 15's start-up)."""
    from mar_tools.validate.early_scan import early_scan

    return early_scan(member, stream)
