"""``ts.metrics.metric_cache_errors``: the exceptions the metrics cache raises.

``MetricsCachePyYamlError`` derives from ``yaml.YAMLError``, as in TorchServe. It is created
on first access (PEP 562), so importing this module does not import PyYAML (the worker never
parses YAML itself; PyYAML costs a noticeable part of a torch-free handler's start-up).
"""

from __future__ import annotations

from typing import Any


class GeneralMetricsCacheError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(f"Generic error: {message}")


class MetricsCacheIOError(IOError):
    def __init__(self, message: str) -> None:
        super().__init__(f"Error reading file: {message}")


def _yaml_error_class() -> type[Exception]:
    import yaml

    class MetricsCachePyYamlError(yaml.YAMLError):
        def __init__(self, message: str) -> None:
            super().__init__(f"Error parsing file: {message}")

    MetricsCachePyYamlError.__module__ = __name__
    MetricsCachePyYamlError.__qualname__ = "MetricsCachePyYamlError"
    return MetricsCachePyYamlError


def __getattr__(name: str) -> Any:
    if name == "MetricsCachePyYamlError":
        value = _yaml_error_class()
        globals()[name] = value  # later accesses find it directly
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class MetricsCacheTypeError(TypeError):
    def __init__(self, message: str) -> None:
        super().__init__(f"{message}")


class MetricsCacheValueError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(f"{message}")


class MetricsCacheKeyError(KeyError):
    def __init__(self, message: str) -> None:
        super().__init__(f"{message}")
