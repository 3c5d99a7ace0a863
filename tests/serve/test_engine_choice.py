"""The base install never imports ray: every module of ``mar`` but the Ray engine imports
with ``ray`` unimportable, ``mar serve --engine ray`` then stops with one clear message
(exit 2), and the engine interface keeps the local pool as the default."""

from __future__ import annotations

import subprocess
import sys
import textwrap

#: Runs in a fresh interpreter where ``import ray`` fails, as on a base install.
_WITHOUT_RAY = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    sys.modules["ray"] = None  # any "import ray..." now raises ImportError
    import mar_tools
    skipped = ("mar_tools.serve.ray_engine", "mar_tools.compat", "mar_tools.worker")
    for info in pkgutil.walk_packages(mar_tools.__path__, "mar_tools."):
        if not info.name.startswith(skipped):
            importlib.import_module(info.name)
    from mar_tools.cli import main
    sys.argv = ["mar", "serve", "--engine", "ray", "--models", "x=x.mar"]
    main()
    """
)


def test_no_module_but_the_ray_engine_needs_ray() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_RAY], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "--engine ray needs Ray Serve" in done.stderr
    assert "pip install 'mar-tools[ray]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_ray_address_needs_the_ray_engine() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mar_tools", "serve", "--ray-address", "auto"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "--ray-address needs --engine ray." in done.stderr
