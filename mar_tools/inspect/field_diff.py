"""Differences between two parsed documents (manifests, model configs) and two requirement
lists, key by key."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final


class _Missing:
    """Stands for a key one side does not have."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True)
class FieldChange:
    """The value at dotted ``path`` is ``before`` on one side and ``after`` on the other
    (:data:`MISSING` where a side lacks it)."""

    path: str
    before: Any
    after: Any

    @property
    def status(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.before is MISSING:
            return "added"
        return "removed" if self.after is MISSING else "changed"


def flatten(value: object, prefix: str = "") -> dict[str, Any]:
    """*value*'s leaves by dotted path (a mapping's keys; lists are leaves)."""
    if not isinstance(value, Mapping) or (prefix and not value):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten(item, path))
    return flat


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """Every leaf that differs between *before* and *after*, in path order."""
    left, right = flatten(before), flatten(after)
    changes = []
    for path in sorted(left.keys() | right.keys()):
        old, new = left.get(path, MISSING), right.get(path, MISSING)
        if old is MISSING or new is MISSING or not _same(old, new):
            changes.append(FieldChange(path, old, new))
    return changes


def _same(left: object, right: object) -> bool:
    """Equal values of the same JSON/YAML type (``1`` is not ``true``, nor ``1.0``)."""
    return type(left) is type(right) and left == right


@dataclass(frozen=True)
class LineChanges:
    """Requirement lines only one side has (``added``: only the second)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def line_changes(before: Sequence[str], after: Sequence[str]) -> LineChanges:
    """The lines of *after* not in *before* and the other way round (as multisets)."""
    left, right = Counter(before), Counter(after)
    added = [line for line in after if (right - left)[line] > 0]
    removed = [line for line in before if (left - right)[line] > 0]
    return LineChanges(tuple(dict.fromkeys(added)), tuple(dict.fromkeys(removed)))
