"""The loaded model: TorchServe's ``TsModelLoader.load`` and ``Service.predict``.

:func:`load_model` checks the device, builds the metrics cache, resolves the entry point,
wraps it in the envelope, builds the ``Context`` (from whichever ``ts`` package the model's
interpreter imports: the real one when installed, else mar-tools' compatible one) and calls
``initialize``. :meth:`Service.predict` runs one batch with TorchServe's error mapping:
``PredictionException`` -> its code and message; ``MemoryError`` or an exception mentioning
CUDA -> 507 "Out of resources"; anything else -> 503 "Prediction failed"; a result that is
not a list of the batch's length -> 503. The answer is the frame TorchServe's backend would
send, built by that ``ts`` package's ``create_predict_response``.
"""

from __future__ import annotations

import importlib
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .devices import DeviceProbe, check_device, gpu_id_for
from .encoding import Frame, decode_frame
from .failure import Failure
from .inputs import Request, build_batch
from .loader import EntryPoint, resolve_entry_point, wrap_in_envelope
from .messages import LoadRequest

PREDICTION_METRIC = "PredictionTime"


class MetricsConfigError(Exception):
    """The metrics configuration is malformed (TorchServe's worker would not start)."""


class StreamCollector:
    """Stands in for ``context.cl_socket``: keeps the frames a handler streams, or hands
    each to *forward* as it comes (then none are kept)."""

    def __init__(self, forward: Callable[[Frame], None] | None = None) -> None:
        self.frames: list[Frame] = []
        self._forward = forward

    def sendall(self, frame: bytes) -> None:
        decoded = decode_frame(frame)
        if self._forward is not None:
            self._forward(decoded)
        else:
            self.frames.append(decoded)


@dataclass
class BatchOutcome:
    """One batch's answer, the streamed frames before it, and the failure behind an error."""

    response: Frame
    streamed: list[Frame]
    elapsed_ms: float
    failure: Failure | None = None
    warnings: list[str] = field(default_factory=list)


class Service:
    """A loaded handler and its context, ready for batches.

    The request processors, ``PredictionException`` and the response frames come from the
    ``ts`` package the handler runs with, so responses are encoded by that package's own
    ``create_predict_response``, as in TorchServe.
    """

    def __init__(self, entry: EntryPoint, context: Any) -> None:
        self.entry = entry
        self.context = context
        self._request_processor = importlib.import_module("ts.context").RequestProcessor
        self._prediction_exception = importlib.import_module("ts.utils.util").PredictionException
        protocol = importlib.import_module("ts.protocol.otf_message_handler")
        self._create_predict_response = protocol.create_predict_response

    def predict(
        self, requests: Sequence[Request], on_stream: Callable[[Frame], None] | None = None
    ) -> BatchOutcome:
        """Run one batch through the handler (see the module docstring for the mapping).

        Frames the handler streams go to *on_stream* as they come when it is given, else
        they are returned with the outcome."""
        processors, batch, request_ids = build_batch(requests, self._request_processor)
        context = self.context
        context.request_ids = request_ids
        context.request_processor = processors
        metrics = context.metrics
        metrics.request_ids = request_ids
        collector = StreamCollector(on_stream)
        context.cl_socket = collector
        start = time.time()
        clock = time.perf_counter()
        error: BaseException | None = None
        warnings = []
        try:
            results = self.entry.handle(batch, context)
        except MemoryError as exc:
            error, frame = exc, self._error_frame(request_ids, "Out of resources", 507)
        except self._prediction_exception as exc:
            error, frame = exc, self._error_frame(request_ids, exc.message, exc.error_code)
        except Exception as exc:
            error = exc
            if "CUDA" in str(exc):
                frame = self._error_frame(request_ids, "Out of resources", 507)
            else:
                frame = self._error_frame(request_ids, "Prediction failed", 503)
        else:
            if not isinstance(results, list):
                warnings.append(
                    f"the handler returned {type(results).__name__}, not a list with one result "
                    f"per request (TorchServe logs: Invalid return type: {type(results)})."
                )
                frame = self._error_frame(request_ids, "Invalid model predict output", 503)
            elif len(results) != len(batch):
                warnings.append(
                    f"the handler returned {len(results)} results for a batch of {len(batch)} "
                    "requests (TorchServe: number of batch response mismatched)."
                )
                frame = self._error_frame(request_ids, "number of batch response mismatched", 503)
            else:
                metrics.add_time(PREDICTION_METRIC, round((time.time() - start) * 1000, 2))
                frame = self._create_predict_response(
                    results, request_ids, "Prediction success", 200, context=context
                )
        if frame is None:
            raise RuntimeError(
                f"LOCAL_RANK={os.environ.get('LOCAL_RANK')}: TorchServe's backend answers "
                "only on rank 0; unset LOCAL_RANK to run the model with mar run."
            )
        return BatchOutcome(
            decode_frame(frame),
            collector.frames,
            (time.perf_counter() - clock) * 1000,
            None if error is None else Failure.from_exception(error),
            warnings,
        )

    def _error_frame(self, request_ids: dict[int, str], message: Any, code: Any) -> Any:
        return self._create_predict_response(None, request_ids, message, code)


def build_metrics_cache(request: LoadRequest) -> Any:
    """TorchServe's ``MetricsCacheYamlImpl`` for the metrics configuration, initialized.

    With mar-tools' ``ts`` the document parsed by the parent is used; a real ``ts`` parses
    the file itself. Raises :class:`MetricsConfigError` for a malformed configuration.
    """
    module = importlib.import_module("ts.metrics.metric_cache_yaml_impl")
    cache_class = module.MetricsCacheYamlImpl
    try:
        if hasattr(cache_class, "_from_document"):
            cache = cache_class._from_document(request.metrics_config, request.metrics_document)
        else:
            cache = cache_class(config_file_path=request.metrics_config)
        cache.initialize_cache()
    except Exception as exc:
        raise MetricsConfigError(f"{type(exc).__name__}: {exc}") from exc
    return cache


def load_model(request: LoadRequest, probe: DeviceProbe) -> Service:
    """Load the handler as TorchServe's worker does and return the ready service.

    Raises ``DeviceUnavailable``, :class:`MetricsConfigError`, ``HandlerError`` or whatever
    the handler's import or ``initialize`` raises.
    """
    check_device(request.device, request.device_index, request.device_flag, probe)
    metrics_cache = build_metrics_cache(request)
    metrics_cache.model_name = request.model_name
    # A load has no request id; TorchServe uses a fresh uuid for the metrics it emits.
    metrics_cache.set_request_ids(str(uuid.uuid4()))
    entry = resolve_entry_point(request.handler)
    if request.envelope:
        wrap_in_envelope(entry, request.envelope)
    ts = importlib.import_module("ts")
    ts_context = importlib.import_module("ts.context")
    context = ts_context.Context(
        request.model_name,
        request.model_dir,
        request.manifest,
        request.batch_size,
        gpu_id_for(request.device, request.device_index),
        ts.__version__,
        request.limit_max_image_pixels,
        metrics_cache,
        request.model_yaml_config,
    )
    service = Service(entry, context)
    entry.initialize(context)
    return service
