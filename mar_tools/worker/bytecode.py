"""The model's own modules are compiled in memory, never cached as bytecode on its disk.

The worker runs with its working directory in the model's directory, which is usually an
extraction of the archive in the shared cache: verified, published under its digest, and
used by several runs and servers at once. Python would write ``__pycache__/*.pyc`` next to
each module the handler imports, changing that directory after it was published (and a
user's own source tree, for a model directory). :func:`keep_model_files_unchanged` puts a
path hook in front of Python's for directories inside the model's: its modules load as
usual, from source or from bytecode already there, but compiled bytecode is not written.
Every other directory (the environment's packages, the standard library) is untouched.
The model's sources are small: compiling them at each start costs milliseconds.
"""

# Why: os.path: the worker imports as little as it can before the handler.
# ruff: noqa: PTH109, PTH112

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib import machinery


class _SourceLoaderWithoutCache(machinery.SourceFileLoader):
    """Python's source loader, minus the writing of bytecode next to the source."""

    def set_data(self, path: str, data: object, *, _mode: int = 0o666) -> None:
        """Nothing: bytecode is only ever written here, and never into the model."""


def keep_model_files_unchanged(model_dir: str) -> None:
    """Import the modules of *model_dir* (and of any directory below it) without writing
    their bytecode (see the module docstring)."""
    root = os.path.realpath(model_dir)
    sys.path_hooks.insert(0, _hook(root))
    sys.path_importer_cache.clear()  # directories seen so far get their finders again


def _hook(root: str) -> Callable[[str], machinery.FileFinder]:
    loaders = (
        (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES),
        (_SourceLoaderWithoutCache, machinery.SOURCE_SUFFIXES),
        (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
    )

    def model_directory_finder(entry: str) -> machinery.FileFinder:
        full = os.path.realpath(entry or os.getcwd())
        if (full != root and not full.startswith(root + os.sep)) or not os.path.isdir(full):
            raise ImportError("not in the model's directory")  # the next hook decides
        return machinery.FileFinder(entry, *loaders)

    return model_directory_finder
