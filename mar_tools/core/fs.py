"""Writing ``--output PATH`` so that the file is complete or untouched, never half-written."""

# Why: os.rename/os.replace/os.unlink are the atomic primitives used on purpose.
# ruff: noqa: PTH101, PTH105, PTH108

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from mar_tools.core.errors import UsageError


def write_atomically(path: Path, data: bytes) -> None:
    """Write *data* to a temporary file beside *path*, then rename it over *path*.

    An existing file keeps its permissions. Raises :class:`UsageError` when the directory
    does not exist or is not writable (the original file, if any, is left as it was).
    """
    directory = path.parent if str(path.parent) else Path()
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except FileNotFoundError:
        raise UsageError(f"--output {path}: the directory {directory} does not exist.") from None
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write there ({exc.strerror}).") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise UsageError(f"--output {path}: cannot write ({exc.strerror}).") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
