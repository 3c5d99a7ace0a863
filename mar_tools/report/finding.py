"""What one check says about one archive: a :class:`Finding` with a stable code.

Codes are dotted, lower-case and stable (``path.traversal``, ``pickle.dangerous-global``):
users grep them, suppress them with ``--ignore`` and look them up in ``docs/validate.md``.
"""

from __future__ import annotations

from enum import Enum

from mar_tools.core.record import record


class Severity(str, Enum):
    """How bad a finding is. Errors fail validation; warnings fail it only with ``--strict``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for errors, 1 for warnings, 2 for infos: sorts the worst first."""
        return _RANKS[self]

    def fails(self, strict: bool) -> bool:
        """True when a finding of this severity fails validation (warnings: with *strict*)."""
        return self is Severity.ERROR or (strict and self is Severity.WARNING)


_RANKS = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@record
class Location:
    """Where a finding points, all parts optional.

    ``member`` is the entry's name inside the archive (as TorchServe would extract it);
    ``line``/``column`` are 1-based positions in that member's text; ``pointer`` is a JSON
    pointer (RFC 6901) into a JSON or YAML document.
    """

    member: str | None = None
    line: int | None = None
    column: int | None = None
    pointer: str | None = None

    def describe(self) -> str:
        """``member:line:col``, or the parts of it that exist ('' when none)."""
        text = self.member or ""
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


NOWHERE = Location()


@record
class Finding:
    """One problem (or note) found by a check.

    ``message`` says what is wrong in one sentence naming the thing; ``hint`` says how to
    fix it. ``severity`` starts as the code's default and may be changed by options.
    """

    code: str
    severity: Severity
    message: str
    location: Location = NOWHERE
    hint: str | None = None

    def sort_key(self) -> tuple[int, str, int, str, str]:
        """Worst first, then by member, line and code, for stable output."""
        loc = self.location
        return (self.severity.rank, loc.member or "", loc.line or 0, self.code, self.message)


def code_matches(code: str, patterns: tuple[str, ...]) -> bool:
    """True when *code* starts with one of *patterns* (``pickle`` matches ``pickle.*``)."""
    return any(code.startswith(pattern) for pattern in patterns)


@record
class CheckInfo:
    """The definition of one finding code: its default severity, a title and the usual fix.

    ``family`` is the part of the code before the first dot; renderers group by it (SARIF
    rules, JUnit test cases).
    """

    code: str
    severity: Severity
    title: str
    fix: str

    @property
    def family(self) -> str:
        return self.code.split(".", 1)[0]
