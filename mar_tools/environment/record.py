"""The record written into every finished environment (``mar-env.json``).

Its presence is what makes an environment trusted: it is written after the last install
step and before the build directory is renamed into place, so a directory under its
final name always holds a complete environment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RECORD_NAME = "mar-env.json"


@dataclass(frozen=True)
class EnvRecord:
    """What an environment is and where it came from."""

    key: str
    model: str
    created: str
    installer: str
    python: str
    torch: str | None
    requirements: str | None
    format: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> EnvRecord:
        """Build a record from parsed JSON; raise ``ValueError`` when a field is missing."""
        try:
            return cls(
                key=str(data["key"]),
                model=str(data["model"]),
                created=str(data["created"]),
                installer=str(data["installer"]),
                python=str(data["python"]),
                torch=None if data.get("torch") is None else str(data["torch"]),
                requirements=None
                if data.get("requirements") is None
                else str(data["requirements"]),
                format=int(data["format"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete environment record: {exc}") from exc


def write_record(root: Path, record: EnvRecord) -> Path:
    """Write *record* into environment *root* atomically (temp file, then rename)."""
    target = root / RECORD_NAME
    partial = root / (RECORD_NAME + ".partial")
    partial.write_text(record.to_json(), encoding="utf-8")
    partial.replace(target)
    return target


def read_record(root: Path) -> EnvRecord | None:
    """The record of environment *root*, or None when it is missing or unreadable."""
    try:
        data = json.loads((root / RECORD_NAME).read_text(encoding="utf-8"))
        return EnvRecord.from_mapping(data) if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
