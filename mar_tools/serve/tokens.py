"""Token authorization as TorchServe 0.12 does it: on unless disabled.

At start-up three random keys are made (``management``, ``inference`` and the ``API`` key
that may rotate the other two) and written to ``key_file.json`` in the working directory,
readable by its owner only. A request must carry ``Authorization: Bearer <key>`` with the
key of its API (the inference key is refused on the management API); the inference and
management keys expire after ``token_expiration_min`` minutes. A missing, wrong or expired
key is a 400 ``InvalidKeyException``. ``PUT /token?type=inference|management`` on the
management API with the ``API`` key makes a new key of that type.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

_BEARER = re.compile(r"^Bearer\s+(\S+)$")


@dataclass
class Key:
    """One key and when it expires (None: never)."""

    value: str
    expires: datetime | None


def new_key() -> str:
    """An 8-character URL-safe key from 6 random bytes (TorchServe's size)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(6)).decode("ascii")


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, or None."""
    if header is None:
        return None
    match = _BEARER.match(header)
    return match.group(1) if match else ""


class TokenStore:
    """The three keys and the key file that publishes them."""

    def __init__(
        self,
        path: Path,
        minutes: float,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.path = path
        self._minutes = minutes
        self._now = now
        self.api = Key(new_key(), None)
        self.keys = {"management": self._fresh(), "inference": self._fresh()}
        self._write()

    def allows(self, kind: str, header: str | None) -> bool:
        """True when *header* carries the valid, unexpired key of *kind*."""
        token = bearer_token(header)
        if not token:
            return False
        key = self.api if kind == "API" else self.keys[kind]
        if not secrets.compare_digest(token, key.value):
            return False
        return key.expires is None or self._now() < key.expires

    def renew(self, kind: str) -> None:
        """Make a new key of *kind* (``inference`` or ``management``) and rewrite the file."""
        self.keys[kind] = self._fresh()
        self._write()

    def remove_file(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _fresh(self) -> Key:
        return Key(new_key(), self._now() + timedelta(minutes=self._minutes))

    def _write(self) -> None:
        document = {
            "management": _entry(self.keys["management"]),
            "inference": _entry(self.keys["inference"]),
            "API": {"key": self.api.value},
        }
        data = json.dumps(document, indent=2).encode("utf-8")
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            temporary.replace(self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise


def _entry(key: Key) -> dict[str, str]:
    assert key.expires is not None
    stamp = key.expires.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return {"key": key.value, "expiration time": stamp.replace("+00:00", "Z")}
