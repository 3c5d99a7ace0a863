"""What an archive holds: formats, members, and the name rules TorchServe extracts by."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from mar_tools.core.record import record

MemberKind = Literal["file", "dir", "symlink", "other"]


class ContainerFormat(str, Enum):
    """The container formats TorchServe loads."""

    ZIP = "zip"
    TGZ = "tgz"
    DIRECTORY = "directory"


@record
class Member:
    """One entry of an archive.

    ``name`` is the path TorchServe extracts it to, relative to the model directory;
    ``raw_name`` is the name stored in the container. Sizes are as declared by the
    container (a zip's central directory can lie; reading the bytes tells the truth).
    ``header_offset`` and ``flag_bits`` are the zip local header's position and general
    purpose flags (None / 0 for the other formats). ``mtime`` is the time the container
    records, in seconds since 1970 (a zip's local date and time read as UTC).
    """

    index: int
    name: str
    raw_name: str
    kind: MemberKind
    size: int
    compressed_size: int
    mode: int | None = None
    link_target: str | None = None
    encrypted: bool = False
    crc: int | None = None
    compress_type: int | None = None
    header_offset: int | None = None
    flag_bits: int = 0
    mtime: float | None = None


def strip_first_component(name: str) -> str:
    """TorchServe's tgz rule: drop everything up to and including the first ``/``."""
    return name.split("/", 1)[1] if "/" in name else name


#: The ways a member name can be unsafe to extract (``mar validate`` reports ``path.<kind>``).
NameProblem = Literal["invalid", "backslash", "absolute", "drive-letter", "traversal"]


def name_problems(name: str) -> list[tuple[NameProblem, str]]:
    """Every way extracting a member called *name* could write outside the model dir, as
    (kind, reason) pairs, most basic first; empty when the name is safe."""
    if not name:
        return [("invalid", "empty name")]
    problems: list[tuple[NameProblem, str]] = []
    if "\x00" in name:
        problems.append(("invalid", "NUL byte in name"))
    if "\\" in name:
        problems.append(("backslash", "backslash in name (a path separator on Windows)"))
    if name.startswith(("/", "\\")):
        problems.append(("absolute", "absolute path"))
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        problems.append(("drive-letter", "drive letter"))
    if ".." in name.replace("\\", "/").split("/"):
        problems.append(("traversal", "'..' path component"))
    return problems


def unsafe_name_reason(name: str) -> str | None:
    """Why extracting a member called *name* could write outside the model dir, or None."""
    problems = name_problems(name)
    return problems[0][1] if problems else None


def refusal_reason(member: Member) -> str | None:
    """Why an extractor of mar-tools refuses *member* (an unsafe name, a link, a device,
    encryption), or None. The top directory of a tar.gz, stripped to ``""``, is fine."""
    if member.kind == "dir" and member.name.strip("/") == "":
        return None
    reason = unsafe_name_reason(member.name.rstrip("/") if member.kind == "dir" else member.name)
    if reason is None and member.kind in ("symlink", "other"):
        kind = "symlink" if member.kind == "symlink" else "device or other special file"
        reason = f"a {kind} (only files and directories are extracted)"
    if reason is None and member.encrypted:
        reason = "encrypted"
    return reason
