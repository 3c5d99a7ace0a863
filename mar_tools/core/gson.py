"""JSON text as TorchServe's frontend writes it (Gson with pretty printing, no HTML escaping).

Every JSON body the Java frontend sends (errors, management answers, ``/ping``) is
``GsonBuilder().setPrettyPrinting().disableHtmlEscaping()`` output plus a newline: two-space
indentation, ``": "`` between key and value, non-ASCII characters as they are, and only the
two Unicode line separators escaped (``json.dumps`` leaves those as they are).
"""

from __future__ import annotations

import json
from typing import Any


def gson_pretty(value: Any) -> bytes:
    """*value* as the frontend's JSON body (UTF-8, with the trailing newline)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (text + "\n").encode("utf-8")
