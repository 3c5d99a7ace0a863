"""Reporters for a long-running server: one line per message on stderr, text or JSON.

A server's output goes to log files and collectors, not to a person at a terminal, so these
reporters never draw progress bars: a task's start is one ``info`` line. Plain writes (no
rich): nothing here adds to the server's start-up time.

* :class:`TextLogReporter`: ``PROG: message`` and ``PROG: warning: message``.
* :class:`JsonLogReporter` (``--log-format json``): one object per line,
  ``{"time": ISO-8601 UTC, "level": "info"|"warning", "message": ...}``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from mar_tools.core.reporter import ProgressUnit


class TextLogReporter:
    """Messages as ``PROG: ...`` lines."""

    def __init__(self, prog: str, stream: TextIO | None = None) -> None:
        self.prog = prog
        self._stream = stream

    def _write(self, line: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()

    def info(self, message: str, /) -> None:
        self._write(f"{self.prog}: {message}")

    def warning(self, message: str, /) -> None:
        self._write(f"{self.prog}: warning: {message}")

    def start(self, task: str, /, total: int | None = None, unit: ProgressUnit = "bytes") -> None:
        del total, unit  # no bar: one line says the task began
        self.info(f"{task}...")

    def advance(self, amount: int, /) -> None:
        pass

    def finish(self) -> None:
        pass


class JsonLogReporter(TextLogReporter):
    """Messages as JSON lines (see the module docstring)."""

    def _emit(self, level: str, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"
        self._write(json.dumps({"time": stamp, "level": level, "message": message}))

    def info(self, message: str, /) -> None:
        self._emit("info", message)

    def warning(self, message: str, /) -> None:
        self._emit("warning", message)
