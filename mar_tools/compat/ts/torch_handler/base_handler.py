"""``ts.torch_handler.base_handler``: TorchServe's ``BaseHandler``.

Loads the model the way TorchServe 0.12 does (eager ``modelFile`` + state dict, TorchScript
``.pt``, ONNX ``.onnx`` through onnxruntime, AOT-compiled ``.so``), applies ``pt2`` compile
options from model-config.yaml, reads ``index_to_name.json``, and runs
preprocess -> inference -> postprocess (or ``explain_handle``) for each batch.

Optional accelerators are imported only when they are used (onnxruntime for an ``.onnx``
file, torch_xla when installed, IPEX when ``TS_IPEX_ENABLE=true``), so importing this module
costs little more than importing torch.
"""

# Why: str paths and os.path, as the TorchServe API this mirrors.
# ruff: noqa: PTH113, PTH118

from __future__ import annotations

import abc
import importlib
import importlib.util
import logging
import os
import time
from typing import Any

import torch

from ..handler_utils.timer import timed
from ..utils.util import list_classes_from_module, load_label_mapping

# PT2_AVAILABLE is part of the module's namespace in TorchServe; handlers may read it.
from ._compile import PT2_AVAILABLE as PT2_AVAILABLE
from ._compile import apply_pt2_options

logger = logging.getLogger(__name__)

PROFILER_AVAILABLE = True
XLA_AVAILABLE = importlib.util.find_spec("torch_xla") is not None


def _torch_newer_than(major: int, minor: int, patch: int) -> bool:
    parts = []
    for piece in torch.__version__.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts) > (major, minor, patch)


PT230_AVAILABLE = _torch_newer_than(2, 2, 2)

if torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 0):
    # Ampere or newer: let float32 matmuls use tensor cores, as TorchServe does.
    torch.set_float32_matmul_precision("high")
    logger.info("Enabled tensor cores")

IPEX_AVAILABLE = False
ipex: Any = None
if os.environ.get("TS_IPEX_ENABLE", "false") == "true":
    try:
        ipex = importlib.import_module("intel_extension_for_pytorch")
        IPEX_AVAILABLE = True
    except ImportError:
        logger.warning(
            "IPEX is enabled but intel-extension-for-pytorch is not installed. "
            "Proceeding without IPEX."
        )


def setup_ort_session(model_pt_path: str, map_location: str | None) -> Any:
    """An onnxruntime session for *model_pt_path* (CUDA provider first when on CUDA)."""
    ort: Any = importlib.import_module("onnxruntime")
    providers = (
        ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if map_location == "cuda"
        else ["CPUExecutionProvider"]
    )
    sess_options = ort.SessionOptions()
    sess_options.intra_op_num_threads = os.cpu_count() or 1
    return ort.InferenceSession(model_pt_path, providers=providers, sess_options=sess_options)


def _onnx_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


class BaseHandler(abc.ABC):  # noqa: B024 (abstract in name only, as upstream)
    """Default handler: loads eager, TorchScript, ONNX or AOT models and runs them."""

    def __init__(self) -> None:
        self.model: Any = None
        self.mapping: dict[str, str] | None = None
        self.device: Any = None
        self.initialized = False
        self.context: Any = None
        self.model_pt_path: str | None = None
        self.manifest: Any = None
        self.map_location: str | None = None
        self.explain = False
        self.target = 0
        self.profiler_args: dict[str, Any] = {}

    def initialize(self, context: Any) -> None:
        """Pick the device, load the model and the label mapping.

        Raises ``RuntimeError("Missing the model.py file")`` or ``RuntimeError("No model
        weights could be loaded")`` as TorchServe does.
        """
        if context is not None and hasattr(context, "model_yaml_config"):
            self.model_yaml_config = context.model_yaml_config
        properties = context.system_properties
        gpu_id = properties.get("gpu_id")
        if torch.cuda.is_available() and gpu_id is not None:
            self.map_location = "cuda"
            self.device = torch.device(f"cuda:{gpu_id}")
        elif (
            os.environ.get("TS_IPEX_GPU_ENABLE", "false") == "true"
            and gpu_id is not None
            and torch.xpu.is_available()
        ):
            self.map_location = "xpu"
            self.device = torch.device(f"xpu:{gpu_id}")
            torch.xpu.device(self.device)
        elif torch.backends.mps.is_available() and gpu_id is not None:
            self.map_location = "mps"
            self.device = torch.device("mps")
        elif XLA_AVAILABLE:
            xla_model: Any = importlib.import_module("torch_xla.core.xla_model")
            self.device = xla_model.xla_device()
        else:
            self.map_location = "cpu"
            self.device = torch.device("cpu")

        self.manifest = context.manifest
        model_dir = properties.get("model_dir")
        self.model_pt_path = None
        if "serializedFile" in self.manifest["model"]:
            self.model_pt_path = os.path.join(model_dir, self.manifest["model"]["serializedFile"])
        model_file = self.manifest["model"].get("modelFile", "")

        if model_file:
            logger.debug("Loading eager model")
            self.model = self._load_pickled_model(model_dir, model_file, self.model_pt_path)
            self.model.to(self.device)
            self.model.eval()
        elif self._pt_path().endswith(".pt"):
            self.model = self._load_torchscript_model(self._pt_path())
            self.model.eval()
        elif self._pt_path().endswith(".onnx") and _onnx_available():
            self.model = setup_ort_session(self._pt_path(), self.map_location)
            logger.info("Succesfully setup ort session")
        elif (
            self._pt_path().endswith(".so")
            and self._use_torch_export_aot_compile()
            and PT230_AVAILABLE
        ):
            if torch.cuda.is_available() and gpu_id is not None:
                torch.cuda.set_device(self.device)
            self.model = self._load_torch_export_aot_compile(self._pt_path())
            logger.warning(
                "torch._export is an experimental feature! Succesfully loaded torch exported model."
            )
        else:
            detail = ""
            if self._pt_path().endswith(".onnx"):
                detail = " (an .onnx model needs onnxruntime in the model's environment)"
            raise RuntimeError("No model weights could be loaded" + detail)

        # An empty model-config.yaml is None: looking for "pt2" in it fails, as upstream.
        config = getattr(self, "model_yaml_config", {})
        self.model = apply_pt2_options(
            self.model, config, self.device, ipex if IPEX_AVAILABLE else None
        )
        logger.debug("Model file %s loaded successfully", self.model_pt_path)
        self.mapping = load_label_mapping(os.path.join(model_dir, "index_to_name.json"))
        self.initialized = True

    def _pt_path(self) -> str:
        # Without serializedFile and modelFile TorchServe fails with this AttributeError too.
        if self.model_pt_path is None:
            raise AttributeError("'NoneType' object has no attribute 'endswith'")
        return self.model_pt_path

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
        """Import the model file's only class, instantiate it and load the state dict."""
        if not os.path.isfile(os.path.join(model_dir, model_file)):
            raise RuntimeError("Missing the model.py file")
        module = importlib.import_module(model_file.split(".")[0])
        classes = list_classes_from_module(module)
        if len(classes) != 1:
            raise ValueError(f"Expected only one class as model definition. {classes}")
        model = classes[0]()
        if model_pt_path:
            map_location = None if (XLA_AVAILABLE and self.map_location is None) else self.device
            state_dict = torch.load(model_pt_path, map_location=map_location)
            model.load_state_dict(state_dict)
        return model

    def _use_torch_export_aot_compile(self) -> bool:
        config = getattr(self, "model_yaml_config", {})
        if "pt2" in config:
            export_value = config["pt2"].get("export", None)
            if isinstance(export_value, dict) and "aot_compile" in export_value:
                return bool(export_value["aot_compile"] == True)  # noqa: E712
        return False

    @timed
    def preprocess(self, data: Any) -> Any:
        """The request rows as one tensor on the handler's device."""
        return torch.as_tensor(data, device=self.device)

    @timed
    def inference(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        """Run the model under ``torch.inference_mode()``."""
        with torch.inference_mode():
            marshalled_data = data.to(self.device)
            results = self.model(marshalled_data, *args, **kwargs)
        return results

    @timed
    def postprocess(self, data: Any) -> Any:
        """``data.tolist()``: one list element per request."""
        return data.tolist()

    def handle(self, data: Any, context: Any) -> Any:
        """preprocess -> inference -> postprocess (or explain/describe); adds ``HandlerTime``."""
        start_time = time.time()
        self.context = context
        metrics = self.context.metrics
        if os.environ.get("ENABLE_TORCH_PROFILER", None):
            if self.manifest is None:
                self.manifest = context.manifest
            output, _ = self._infer_with_profiler(data=data)
        elif self._is_describe():
            output = [self.describe_handle()]
        else:
            data_preprocess = self.preprocess(data)
            if not self._is_explain():
                output = self.postprocess(self.inference(data_preprocess))
            else:
                output = self.explain_handle(data_preprocess, data)
        stop_time = time.time()
        metrics.add_time("HandlerTime", round((stop_time - start_time) * 1000, 2), None, "ms")
        return output

    def _infer_with_profiler(self, data: Any) -> tuple[Any, Any]:
        """Run the batch under ``torch.profiler`` and write a TensorBoard trace."""
        from torch.profiler import ProfilerActivity, profile, record_function

        if not self.profiler_args:
            self.profiler_args["activities"] = [ProfilerActivity.CPU, ProfilerActivity.CUDA]
            self.profiler_args["record_shapes"] = True
        if "on_trace_ready" not in self.profiler_args:
            dir_name = ""
            try:
                dir_name = self.manifest["model"]["modelName"]
            except KeyError:
                logging.debug("Model name not found in config")
            result_path = os.path.join("/tmp/pytorch_profiler", dir_name)
            self.profiler_args["on_trace_ready"] = torch.profiler.tensorboard_trace_handler(
                result_path
            )
            logger.info("Saving chrome trace to : %s", result_path)
        with profile(**self.profiler_args) as prof:
            with record_function("preprocess"):
                data_preprocess = self.preprocess(data)
            if not self._is_explain():
                with record_function("inference"):
                    output = self.inference(data_preprocess)
                with record_function("postprocess"):
                    output = self.postprocess(output)
            else:
                with record_function("explain"):
                    output = self.explain_handle(data_preprocess, data)
        logger.info(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
        return output, prof

    def explain_handle(self, data_preprocess: Any, raw_data: Any) -> Any:
        """Captum explanation of request 0 (``data``/``body``, ``target`` form field or 0)."""
        inputs = None
        target: Any = 0
        logger.info("Calculating Explanations")
        row = raw_data[0]
        if isinstance(row, dict):
            logger.info("Getting data and target")
            inputs = row.get("data") or row.get("body")
            target = row.get("target")
            if not target:
                target = 0
        # Subclasses provide get_insights (the vision and text handlers do).
        return self.get_insights(data_preprocess, inputs, target)  # type: ignore[attr-defined]

    def _is_explain(self) -> bool:
        if self.context and self.context.get_request_header(0, "explain") == "True":
            self.explain = True
            return True
        return False

    def _is_describe(self) -> bool:
        return bool(self.context and self.context.get_request_header(0, "describe") == "True")

    def describe_handle(self) -> Any:
        """Answer of a describe request (``describe: True``); None by default."""
        return None

    def get_device(self) -> Any:
        return self.device
