"""``ts.utils.util``: label mapping, class discovery, YAML loading and ``PredictionException``.

Behaviour (messages, warnings, exceptions) matches TorchServe 0.12 so handlers that depend on
it see the same results. PyYAML is imported only when :func:`get_yaml_config` is called.
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH113

from __future__ import annotations

import enum
import functools
import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

#: Strips HTML tags and character entities (used by the text handlers).
CLEANUP_REGEX = re.compile("<.*?>|&([a-z0-9]+|#[0-9]{1,6}|#x[0-9a-f]{1,6});")

_F = TypeVar("_F", bound=Callable[..., Any])


class PT2Backend(str, enum.Enum):
    """``torch.compile`` backends TorchServe accepts in ``pt2.compile.backend``."""

    EAGER = "eager"
    AOT_EAGER = "aot_eager"
    INDUCTOR = "inductor"
    NVFUSER = "nvfuser"
    AOT_NVFUSER = "aot_nvfuser"
    AOT_CUDAGRAPHS = "aot_cudagraphs"
    OFI = "ofi"
    FX2TRT = "fx2trt"
    ONNXRT = "onnxrt"
    IPEX = "ipex"
    TORCHXLA_TRACE_ONCE = "torchxla_trace_once"
    OPENVINO = "openvino"
    TENSORRT = "tensorrt"
    HPU_BACKEND = "hpu_backend"


def list_classes_from_module(module: ModuleType, parent_class: type | None = None) -> list[type]:
    """Classes *defined* in *module* (not imported into it), sorted by name.

    With *parent_class*, only its subclasses. TorchServe uses this to find a handler class.
    """
    # inspect.getmembers' order (sorted names) without importing inspect, which is slow.
    found = []
    for name in dir(module):
        member = getattr(module, name)
        if isinstance(member, type) and member.__module__ == module.__name__:
            found.append(member)
    if parent_class is None:
        return found
    return [cls for cls in found if issubclass(cls, parent_class)]


def check_valid_pt2_backend(backend: str) -> bool:
    """True for a known :class:`PT2Backend` value; otherwise log a warning and return False."""
    if backend in {member.value for member in PT2Backend}:
        return True
    logger.warning(f"{backend} is not a supported backend")
    return False


def _label_of(value: Any) -> str:
    """The label of one mapping entry: a string, or the last element of a list."""
    label = value[-1] if isinstance(value, list) else value
    if isinstance(label, str):
        return label
    raise Exception("labels in index->name mapping must be either str or List[str]")


def load_label_mapping(mapping_file_path: str) -> dict[str, str] | None:
    """Read ``index_to_name.json`` (class index -> label); None, with a warning, if missing.

    Accepts ``{"0": "cat"}``, ``{"0": ["n0001", "cat"]}`` (the last element is the label) and
    the legacy ``{"object_type_names": [...]}``. Anything else raises ``Exception``.
    """
    if not os.path.isfile(mapping_file_path):
        logger.warning(
            f"{mapping_file_path!r} is missing. Inference output will not include class name."
        )
        return None
    with open(mapping_file_path) as handle:
        document = json.load(handle)
    if not isinstance(document, dict):
        raise Exception('index->name JSON mapping should be in "class": "label" format.')
    legacy_names = document.get("object_type_names")
    if isinstance(legacy_names, list):  # the form of older examples
        return {str(position): name for position, name in enumerate(legacy_names)}
    return {key: _label_of(value) for key, value in document.items()}


def map_class_to_label(
    probs: list[Any],
    mapping: dict[str, str] | None = None,
    lbl_classes: Iterable[Sequence[Any]] | None = None,
) -> list[dict[str, Any]]:
    """Turn rows of probabilities into ``[{label: probability, ...}, ...]``.

    *lbl_classes* gives the class index of each probability (default: 0, 1, 2, ...); labels
    come from *mapping* (a missing key raises ``KeyError``) or are the index as a string.
    """
    if not isinstance(probs, list):
        raise Exception("Convert classes to list before doing mapping")
    if not (mapping is None or isinstance(mapping, dict)):
        raise Exception("Mapping must be a dict")

    def named(cls: Any) -> str:
        return str(cls) if mapping is None else mapping[str(cls)]

    classes_per_row = [range(len(probs[0]))] * len(probs) if lbl_classes is None else lbl_classes
    return [
        dict(zip(map(named, classes), row, strict=False))
        for classes, row in zip(classes_per_row, probs, strict=False)
    ]


def get_yaml_config(yaml_file_path: str) -> Any:
    """``yaml.safe_load`` of *yaml_file_path* (an empty file gives None, as in TorchServe)."""
    import yaml  # imported here: only handlers that read YAML need PyYAML

    with open(yaml_file_path) as handle:
        return yaml.safe_load(handle)


class PredictionException(Exception):
    """Raise from a handler to answer the whole batch with HTTP *error_code* and *message*."""

    def __init__(self, message: str, error_code: int = 500) -> None:
        super().__init__(message)
        self.message, self.error_code = message, error_code

    def __str__(self) -> str:
        return f"{self.message} : {self.error_code}"


def deprecated(
    version: Any, replacement: str = "", klass: type[Warning] = PendingDeprecationWarning
) -> Callable[[_F], _F]:
    """Decorator: calling the function warns that it is deprecated in *version*."""

    def decorate(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            warnings.warn(
                f"{func.__name__} is deprecated in {version} and moved to {replacement}",
                klass,
                stacklevel=2,
            )
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
