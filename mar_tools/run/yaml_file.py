"""Reading the metrics configuration (``--metrics-config``, or TorchServe's default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mar_tools.core.errors import UsageError
from mar_tools.core.yaml_document import YamlProblem, parse_yaml


def read_yaml(path: Path, what: str) -> Any:
    """The parsed YAML document at *path*; :class:`UsageError` when it cannot be read or is
    not YAML (aliases are limited as in TorchServe's parser, see :func:`parse_yaml`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: the {what} file does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the {what} file ({exc}).") from exc
    document = parse_yaml(text)
    if isinstance(document, YamlProblem):
        where = f" (line {document.line})" if document.line else ""
        raise UsageError(f"{path}: the {what} file is not valid YAML: {document.message}{where}")
    return document.value
