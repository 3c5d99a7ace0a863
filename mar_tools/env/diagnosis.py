"""Turning an installer's failed output into one sentence that names the requirement.

pip and uv print pages; the user needs the line that says which requirement failed and
why. :func:`diagnose` looks for the messages pip and uv print for the common failures
(no such version, unbuildable sdist, missing file, invalid line, resolver conflict) and
falls back to the last error line. The caller adds the output's tail for context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: (pattern, summary template) in priority order; ``{0}`` is the first group.
_PATTERNS: Sequence[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"Could not find a version that satisfies the requirement "
            r"(.+?)(?: \(from versions:.*)?$"
        ),
        "no version of {0} could be found",
    ),
    (re.compile(r"No matching distribution found for (.+)$"), "no distribution found for {0}"),
    (re.compile(r"Invalid requirement: (.+)$"), "invalid requirement {0}"),
    (
        re.compile(r"Could not open requirements file: (.+)$"),
        "cannot open a requirements file: {0}",
    ),
    (
        re.compile(r"Requirement '(.+?)' looks like a filename, but the file does not exist"),
        "'{0}' looks like a file name, but the file does not exist",
    ),
    (re.compile(r"Failed to build '?([^' ]+)'?(?: when .*)?$"), "failed to build {0}"),
    (re.compile(r"Failed building wheel for (\S+)"), "failed to build {0}"),
    (re.compile(r"Could not build wheels for (\S+?),"), "failed to build {0}"),
    (
        re.compile(r"Could not install packages due to an OSError: (.+)$"),
        "could not install: {0}",
    ),
    # uv
    (re.compile(r"Failed to build `(.+?)`"), "failed to build {0}"),
    (re.compile(r"Distribution not found at: (.+)$"), "distribution not found at {0}"),
    (
        re.compile(r"you require (.+?)(?:,| and) we can conclude"),
        "no version of {0} could be found",
    ),
    (re.compile(r"because (.+?) was not found in"), "{0} was not found"),
    (
        re.compile(r"(?:Requirements|File) (?:file )?`(.+?)` (?:does not exist|not found)"),
        "{0} does not exist",
    ),
]
_CONFLICT_START = "The conflict is caused by:"


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong, in one line, and the requirement concerned (when found)."""

    summary: str
    requirement: str | None = None


def diagnose(output: str) -> Diagnosis:
    """Read an installer's combined output and say what failed."""
    lines = [line.strip() for line in output.splitlines()]
    conflict = _conflict(lines)
    if conflict is not None:
        return conflict
    for pattern, template in _PATTERNS:
        for line in lines:
            found = pattern.search(line)
            if found:
                subject = found.group(1).strip()
                return Diagnosis(template.format(subject), subject)
    errors = [line for line in lines if line.lower().startswith(("error:", "error "))]
    if errors:
        return Diagnosis(errors[-1].split(":", 1)[1].strip() or errors[-1])
    return Diagnosis("the installer failed without an error message")


def _conflict(lines: list[str]) -> Diagnosis | None:
    """pip's ResolutionImpossible: the lines after "The conflict is caused by:"."""
    if _CONFLICT_START not in lines:
        return None
    start = lines.index(_CONFLICT_START) + 1
    causes = []
    for line in lines[start:]:
        if not line:
            break
        causes.append(line)
    # Constraint lines are ours (the torch pin) or the machine's pip configuration; the
    # user's requirements are the other side of the conflict.
    wanted = [c.removeprefix("The user requested ") for c in causes if "(constraint)" not in c]
    summary = "conflicting requirements: " + "; ".join(wanted or causes)
    return Diagnosis(summary, wanted[0] if wanted else None)


def tail(output: str, count: int = 20) -> str:
    """The last *count* non-empty lines of *output*, without uv's line naming the
    temporary build directory (it no longer exists when the user reads this)."""
    lines = [
        line.rstrip()
        for line in output.splitlines()
        if line.strip() and not line.startswith("Using Python ")
    ]
    return "\n".join(lines[-count:])
