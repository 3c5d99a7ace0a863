"""``ts.metrics.metric_cache_yaml_impl``: the metrics cache built from a ``metrics.yaml``.

Only the ``model_metrics`` section matters to the backend: ``{counter|gauge|histogram: [{name,
unit, dimensions}, ...]}``. The errors for a malformed file are those TorchServe raises.
"""

from __future__ import annotations

import logging
from typing import Any

from . import metric_cache_errors as merrors
from .caching_metric import CachingMetric
from .metric_cache_abstract import MetricCacheAbstract
from .metric_type_enum import MetricTypes

logger = logging.getLogger(__name__)


_DIMENSION_NAMES_MESSAGE = "`dimension_names` should be a list of dimension name strings"


class MetricsCacheYamlImpl(MetricCacheAbstract):
    """Metrics declared by the YAML file at *config_file_path*."""

    def __init__(self, config_file_path: Any) -> None:
        super().__init__(config_file_path=config_file_path)
        self._parsed_file: Any = self._parse_yaml_file(self.config_file_path)

    @classmethod
    def _from_document(cls, config_file_path: str, document: Any) -> MetricsCacheYamlImpl:
        """A cache for a file that was already parsed (``mar run`` parses it in the parent)."""
        cache = cls.__new__(cls)
        MetricCacheAbstract.__init__(cache, config_file_path)
        cache._parsed_file = document
        return cache

    @staticmethod
    def _parse_yaml_file(config_file_path: Any) -> Any:
        if not config_file_path:
            raise merrors.MetricsCacheTypeError("Config file not initialized")
        import yaml  # only when a handler builds a cache from a path itself

        try:
            with open(config_file_path, encoding="utf-8") as handle:
                document = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise merrors.MetricsCachePyYamlError(
                f"Error parsing file {config_file_path}: {exc}"
            ) from exc
        except OSError as exc:
            raise merrors.MetricsCacheIOError(
                f"Error reading file {config_file_path}: {exc}"
            ) from exc
        except Exception as exc:
            raise merrors.GeneralMetricsCacheError(
                f"General error found in file {config_file_path}: {exc}"
            ) from exc
        logging.info(f"Successfully loaded {config_file_path}.")
        return document

    def _parse_metrics_section(self, key: str = "model_metrics") -> Any:
        try:
            return self._parsed_file[key]
        except KeyError as exc:
            raise merrors.MetricsCacheKeyError(
                f"'{key}' key not found in yaml file: {exc}"
            ) from exc

    def initialize_cache(self) -> None:
        """Create every metric of the ``model_metrics`` section."""
        section = self._parse_metrics_section("model_metrics")
        if not section:
            raise merrors.MetricsCacheValueError("Missing `model_metrics` specification")
        for type_name, metrics in section.items():
            try:
                metric_type = MetricTypes(type_name)
            except Exception as exc:
                raise merrors.MetricsCacheKeyError(f"Invalid metric type: {exc}") from exc
            for metric in metrics:
                try:
                    self.add_metric_to_cache(
                        metric_name=metric["name"],
                        unit=metric["unit"],
                        dimension_names=metric["dimensions"],
                        metric_type=metric_type,
                    )
                except KeyError as exc:
                    raise merrors.MetricsCacheKeyError(
                        f"Key not found in cache spec: {exc}"
                    ) from exc

    def add_metric_to_cache(
        self,
        metric_name: str,
        unit: str,
        dimension_names: list[str] | None = None,
        metric_type: MetricTypes = MetricTypes.COUNTER,
    ) -> CachingMetric:
        """Create a metric (replacing, with a warning, one of the same type and name)."""
        checks: list[tuple[Any, type, str]] = [
            (metric_name, str, "`metric_name` must be a str"),
            (unit, str, "`unit` must be a str"),
            (metric_type, MetricTypes, "`metric_type` must be a MetricTypes enum"),
        ]
        if dimension_names:  # an empty value (None, []) is not checked
            checks.append(
                (dimension_names, list, _DIMENSION_NAMES_MESSAGE),
            )
        for value, expected, message in checks:
            self._check_type(value, expected, message)
        created = CachingMetric(
            metric_name=metric_name,
            unit=unit,
            dimension_names=dimension_names,
            metric_type=metric_type,
        )
        same_type = self.cache.setdefault(metric_type, {})
        if metric_name in same_type:
            logging.warning(f"Overriding existing key {metric_type}:{metric_name}")
        same_type[metric_name] = created
        return created

    def get_metric(
        self, metric_name: str, metric_type: MetricTypes = MetricTypes.COUNTER
    ) -> CachingMetric:
        """The metric of that type and name; :class:`MetricsCacheKeyError` when undeclared."""
        for value, expected, message in (
            (metric_name, str, "`metric_name` must be a str"),
            (metric_type, MetricTypes, "`metric_type` must be a MetricTypes enum"),
        ):
            self._check_type(value, expected, message)
        found = self.cache.get(metric_type, {}).get(metric_name)
        if found is None:
            raise merrors.MetricsCacheKeyError(
                f"Metric of type '{metric_type}' and name '{metric_name}' doesn't exist"
            )
        assert isinstance(found, CachingMetric)
        return found

    def cache_keys(self) -> list[str]:
        """``"<type>:<name>"`` for every cached metric (used by tests)."""
        return [f"{kind.value}:{name}" for kind, metrics in self.cache.items() for name in metrics]
