"""captum, imported when an explanation is first asked for (it takes ~0.5 s to import)."""

from __future__ import annotations

import importlib
from typing import Any


def captum_attr() -> Any:
    """The ``captum.attr`` module; a clear ``ModuleNotFoundError`` when captum is missing."""
    try:
        return importlib.import_module("captum.attr")
    except ModuleNotFoundError as exc:
        if exc.name not in ("captum", "captum.attr"):
            raise
        raise ModuleNotFoundError(
            "explanations need captum, which is not installed in the model's environment "
            "(pip install captum)",
            name="captum",
        ) from None
