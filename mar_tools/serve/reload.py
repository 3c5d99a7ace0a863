"""``--reload``: restart a model's workers when its files change, keeping the server up.

For a directory model (``--archive-format no-archive``, or a model directory given to
``mar serve``) every file under it is watched; for an archive file, the archive itself.
Twice a second the watcher compares sizes and modification times; on a change it
re-prepares the model (a changed archive is extracted anew) and replaces its workers.
Requests that arrive meanwhile wait in the queue.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mar_tools.serve.registry import ModelVersion, Registry

POLL_SECONDS = 0.5
#: Files watched per model at most (a model directory with more is watched partially).
MAX_FILES = 20000


def signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Sizes and modification times of *path* (a file, or every file under a directory)."""
    files = [path] if path.is_file() else sorted(path.rglob("*"))[:MAX_FILES]
    found = []
    for item in files:
        if "__pycache__" in item.parts:
            continue
        try:
            info = item.stat()
        except OSError:
            continue
        if item.is_file():
            found.append((str(item), info.st_size, info.st_mtime_ns))
    return tuple(found)


async def watch_models(registry: Registry, log: object) -> None:
    """Poll every registered model's source until cancelled (see the module docstring)."""
    seen: dict[tuple[str, str], tuple[tuple[str, int, int], ...]] = {}
    while True:
        for versions in list(registry.models.values()):
            for entry in list(versions.values()):
                key = (entry.name, entry.version)
                current = await asyncio.to_thread(signature, _source(entry))
                previous = seen.get(key)
                seen[key] = current
                if previous is not None and previous != current:
                    await registry.reload(entry)
        await asyncio.sleep(POLL_SECONDS)
        del log


def _source(entry: ModelVersion) -> Path:
    return entry.prepared.archive
