"""Script the parent starts in the model's interpreter: ``python <this file> --in-fd ...``.

It removes its own directory from ``sys.path`` (Python put it first; TorchServe removes its
``ts`` directory the same way, so a model file named like one of ours still imports), loads
this directory as the private package ``_mar_worker`` and runs its session. Standard library
only, and no module of mar-tools other than this directory is imported.
"""

# Why: os.path: the worker starts before anything else is imported.
# ruff: noqa: PTH100, PTH118, PTH120

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

PACKAGE = "_mar_worker"


def _bootstrap() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    mine = {here, os.path.realpath(here)}
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) not in mine]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, os.path.join(here, "__init__.py"), submodule_search_locations=[here]
    )
    if spec is None or spec.loader is None:  # pragma: no cover - the file is ours
        raise ImportError(f"cannot load the worker package from {here}")
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    session = importlib.import_module(f"{PACKAGE}.session")
    session.main(sys.argv[1:])


if __name__ == "__main__":
    _bootstrap()
