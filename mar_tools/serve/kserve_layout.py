"""Where KServe mounts a model for its TorchServe runtime, and what ``mar serve --kserve``
reads from there.

KServe's storage initializer downloads the InferenceService's ``storageUri`` into
``/mnt/models`` (the root; ``--kserve-root`` elsewhere). The TorchServe runtime's layout is
``config/config.properties`` (read with TorchServe's keys, ``model_snapshot`` and
``enable_envvars_config`` included) and ``model-store/`` (the archives). A ``storageUri``
naming a single archive puts that archive in the root instead: then every archive there is
served under its own name, with the default configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mar_tools.core.errors import UsageError

DEFAULT_ROOT = Path("/mnt/models")
ARCHIVE_SUFFIXES = (".mar", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class KServeLayout:
    """What was found under a KServe root."""

    config: Path | None
    model_store: Path | None
    archives: tuple[Path, ...] = ()

    @classmethod
    def find(cls, root: Path) -> KServeLayout:
        """The layout under *root*; :class:`UsageError` when it holds nothing to serve."""
        config = root / "config" / "config.properties"
        store = root / "model-store"
        found = cls(config if config.is_file() else None, store if store.is_dir() else None)
        if found.config is not None or found.model_store is not None:
            return found
        archives = (
            tuple(sorted(p for p in root.iterdir() if p.name.endswith(ARCHIVE_SUFFIXES)))
            if root.is_dir()
            else ()
        )
        if not archives:
            raise UsageError(
                f"{root}: no config/config.properties, model-store/ or model archive here.",
                hint="KServe mounts the InferenceService's storageUri here; see docs/scale.md.",
            )
        return cls(None, root, archives)
