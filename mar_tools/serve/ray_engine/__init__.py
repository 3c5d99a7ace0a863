"""``mar serve --engine ray``: the same archives and API, each model version a Ray Serve
deployment whose replicas run ``mar serve``'s worker pool (docs/scale.md).

The only package of mar-tools that imports ``ray`` (an import-linter contract); the server
imports it only when ``--engine ray`` is asked for, so the base install never needs Ray.
"""

from mar_tools.serve.ray_engine.engine import RayEngine

__all__ = ["RayEngine"]
