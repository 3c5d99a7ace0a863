"""``ts.torch_handler.base_handler``: TorchServe's ``BaseHandler``.

Loads the model the way TorchServe 0.12 does (eager ``modelFile`` + state dict, TorchScript
``.pt``, ONNX ``.onnx`` through onnxruntime, AOT-compiled ``.so``), applies ``pt2`` compile
options from model-config.yaml, reads ``index_to_name.json``, and runs
preprocess -> inference -> postprocess (or ``explain_handle``) for each batch.

Optional accelerators are imported only when they are used (onnxruntime for an ``.onnx``
file, torch_xla when installed, IPEX when ``TS_IPEX_ENABLE=true``), so importing this module
costs little more than importing torch. The device choice, the model readers and the
profiler live in the private modules ``_placement``, ``_weights`` and ``_profiling``.
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH118

from __future__ import annotations

import abc
import importlib
import logging
import os
import time
from typing import Any

import torch

from ..handler_utils.timer import timed
from ..utils.util import load_label_mapping

# These flags are part of the module's namespace in TorchServe; handlers may read them.
from ._compile import PT2_AVAILABLE as PT2_AVAILABLE
from ._compile import apply_pt2_options
from ._placement import XLA_AVAILABLE as XLA_AVAILABLE
from ._placement import choose_placement
from ._profiling import profile_batch
from ._weights import PT230_AVAILABLE as PT230_AVAILABLE
from ._weights import model_class, onnx_available, onnx_session, select_loader, unloadable_message

logger = logging.getLogger(__name__)

PROFILER_AVAILABLE = True
ONNX_AVAILABLE = onnx_available()

if torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 0):
    # Ampere or newer: let float32 matmuls use tensor cores, as TorchServe does.
    torch.set_float32_matmul_precision("high")
    logger.info("Enabled tensor cores")


def _import_ipex() -> Any:
    """intel_extension_for_pytorch when ``TS_IPEX_ENABLE=true`` and it is installed."""
    if os.environ.get("TS_IPEX_ENABLE", "false") != "true":
        return None
    try:
        return importlib.import_module("intel_extension_for_pytorch")
    except ImportError:
        logger.warning(
            "IPEX is enabled but intel-extension-for-pytorch is not installed. "
            "Proceeding without IPEX."
        )
        return None


ipex: Any = _import_ipex()
IPEX_AVAILABLE = ipex is not None


def setup_ort_session(model_pt_path: str, map_location: str | None) -> Any:
    """An onnxruntime session for *model_pt_path* (CUDA provider first when on CUDA)."""
    return onnx_session(model_pt_path, map_location)


#: Attributes that stay None until ``initialize`` (or ``handle``) sets them.
_SET_LATER = ("model", "mapping", "device", "context", "model_pt_path", "manifest", "map_location")


def _header_is_true(context: Any, name: str) -> bool:
    """Whether the first request of the batch carries header *name* with the value "True"."""
    return bool(context) and context.get_request_header(0, name) == "True"


def _explanation_request(row: Any) -> tuple[Any, Any]:
    """``(inputs, target)`` of an explanation: the row's data (or body) and its ``target``
    field, 0 when absent or empty; ``(None, 0)`` for a row that is not a dict."""
    if not isinstance(row, dict):
        return None, 0
    logger.info("Getting data and target")
    return row.get("data") or row.get("body"), row.get("target") or 0


def _answer(handler: BaseHandler, data: Any) -> Any:
    """The handler's output for one batch: profiled, described, explained or predicted."""
    if os.environ.get("ENABLE_TORCH_PROFILER"):
        if handler.manifest is None:
            handler.manifest = handler.context.manifest  # the profiler names traces after it
        output, _ = handler._infer_with_profiler(data=data)
        return output
    if handler._is_describe():
        return [handler.describe_handle()]
    prepared = handler.preprocess(data)
    if handler._is_explain():
        return handler.explain_handle(prepared, data)
    return handler.postprocess(handler.inference(prepared))


def _read_model(handler: BaseHandler, model_dir: str, model_file: str, gpu_id: Any) -> None:
    """Set ``handler.model`` from the archive: eager when there is a model file, else by
    the serialized file's suffix (see :func:`._weights.select_loader`)."""
    if model_file:
        logger.debug("Loading eager model")
        handler.model = handler._load_pickled_model(model_dir, model_file, handler.model_pt_path)
        handler.model.to(handler.device)
        handler.model.eval()
        return
    weights = handler.model_pt_path
    if weights is None:
        # Without serializedFile and modelFile TorchServe fails with this AttributeError.
        raise AttributeError("'NoneType' object has no attribute 'endswith'")
    kind = select_loader(weights, handler._use_torch_export_aot_compile)
    if kind == "torchscript":
        handler.model = handler._load_torchscript_model(weights)
        handler.model.eval()
    elif kind == "onnx":
        handler.model = setup_ort_session(weights, handler.map_location)
        logger.info("Succesfully setup ort session")
    elif kind == "aot":
        if gpu_id is not None and torch.cuda.is_available():
            torch.cuda.set_device(handler.device)  # aot_load takes no device index
        handler.model = handler._load_torch_export_aot_compile(weights)
        logger.warning(
            "torch._export is an experimental feature! Succesfully loaded torch exported model."
        )
    else:
        raise RuntimeError(unloadable_message(weights))


class BaseHandler(abc.ABC):  # abstract in name only, as upstream
    """Default handler: loads eager, TorchScript, ONNX or AOT models and runs them."""

    model: Any
    mapping: dict[str, str] | None
    device: Any
    context: Any
    model_pt_path: str | None
    manifest: Any
    map_location: str | None

    def __init__(self) -> None:
        self.profiler_args: dict[str, Any] = {}
        self.explain, self.target = False, 0
        for name in _SET_LATER:
            setattr(self, name, None)
        self.initialized = False

    def initialize(self, context: Any) -> None:
        """Pick the device, load the model and the label mapping.

        Raises ``RuntimeError("Missing the model.py file")`` or ``RuntimeError("No model
        weights could be loaded")`` as TorchServe does.
        """
        if context is not None and hasattr(context, "model_yaml_config"):
            self.model_yaml_config = context.model_yaml_config
        properties = context.system_properties
        placement = choose_placement(properties.get("gpu_id"))
        self.device = placement.device
        if placement.map_location is not None:  # on XLA it stays as it was (None)
            self.map_location = placement.map_location
        self.manifest = context.manifest
        model_dir = properties.get("model_dir")
        described = self.manifest["model"]
        self.model_pt_path = (
            os.path.join(model_dir, described["serializedFile"])
            if "serializedFile" in described
            else None
        )
        _read_model(self, model_dir, described.get("modelFile", ""), properties.get("gpu_id"))
        # An empty model-config.yaml is None: looking for "pt2" in it fails, as upstream.
        self.model = apply_pt2_options(
            self.model, getattr(self, "model_yaml_config", {}), self.device, ipex
        )
        logger.debug("Model file %s loaded successfully", self.model_pt_path)
        self.mapping = load_label_mapping(os.path.join(model_dir, "index_to_name.json"))
        self.initialized = True

    def _load_torch_export_aot_compile(self, model_so_path: str) -> Any:
        """Load an AOT-compiled ``.so`` model (``pt2.export.aot_compile: true``)."""
        export: Any = torch._export
        return export.aot_load(model_so_path, self.map_location)

    def _load_torchscript_model(self, model_pt_path: str) -> Any:
        """``torch.jit.load`` onto the handler's device."""
        return torch.jit.load(model_pt_path, map_location=self.device)  # type: ignore[no-untyped-call]

    def _load_pickled_model(
        self, model_dir: str, model_file: str, model_pt_path: str | None
    ) -> Any:
        """Instantiate the model file's only class, then load the state dict into it."""
        instance = model_class(model_dir, model_file)()
        if not model_pt_path:
            return instance
        # On XLA the tensors are loaded where they were saved.
        on_xla = XLA_AVAILABLE and self.map_location is None
        instance.load_state_dict(
            torch.load(model_pt_path, map_location=None if on_xla else self.device)
        )
        return instance

    def _use_torch_export_aot_compile(self) -> bool:
        if not hasattr(self, "model_yaml_config") or "pt2" not in self.model_yaml_config:
            return False
        export = self.model_yaml_config["pt2"].get("export", None)
        # TorchServe compares with True: a truthy value other than True does not count.
        return isinstance(export, dict) and bool(export.get("aot_compile", False) == True)  # noqa: E712

    @timed
    def preprocess(self, data: Any) -> Any:
        """The request rows as one tensor on the handler's device."""
        return torch.as_tensor(data, device=self.device)

    @timed
    def inference(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the model under ``torch.inference_mode()``."""
        with torch.inference_mode():
            return self.model(data.to(self.device), *args, **kwargs)

    @timed
    def postprocess(self, data: Any) -> Any:
        """``data.tolist()``: one list element per request."""
        return data.tolist()

    def handle(self, data: Any, context: Any) -> Any:
        """preprocess -> inference -> postprocess (or explain/describe/profile); adds the
        ``HandlerTime`` metric (milliseconds, two decimals)."""
        began = time.time()
        self.context = context
        sink = context.metrics
        output = _answer(self, data)
        sink.add_time("HandlerTime", round((time.time() - began) * 1000, 2), None, "ms")
        return output

    def _infer_with_profiler(self, data: Any) -> tuple[Any, Any]:
        """Run the batch under ``torch.profiler`` and write a TensorBoard trace."""
        return profile_batch(self, data)

    def explain_handle(self, data_preprocess: Any, raw_data: Any) -> Any:
        """Captum explanation of request 0 (``data``/``body``, ``target`` form field or 0)."""
        logger.info("Calculating Explanations")
        inputs, target = _explanation_request(raw_data[0])
        # Subclasses provide get_insights (the vision and text handlers do).
        return self.get_insights(data_preprocess, inputs, target)  # type: ignore[attr-defined]

    def _is_explain(self) -> bool:
        asked = _header_is_true(self.context, "explain")
        if asked:
            self.explain = True
        return asked

    def _is_describe(self) -> bool:
        return _header_is_true(self.context, "describe")

    def describe_handle(self) -> Any:
        """Answer of a describe request (``describe: True``); None by default."""
        return None

    def get_device(self) -> Any:
        return self.device
