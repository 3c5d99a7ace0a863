"""``ts.handler_utils.micro_batching``: a batch cut into micro-batches that flow through a
preprocess -> inference -> postprocess pipeline of threads.

A handler installs it as its entry point (``self.handle = MicroBatching(self)``).
:meth:`MicroBatching.handle` cuts the batch into consecutive slices of ``micro_batch_size``
requests (the last one shorter when the size does not divide the batch), each stage runs in
its own threads (``parallelism``: how many per stage, default one), and the outputs are put
back in request order. Inside a stage, :meth:`MicroBatching.get_micro_batch_idx` tells which
slice the current thread works on.

As TorchServe 0.12's, with two deliberate differences where it would hang: an exception in a
stage is raised by ``handle`` (TorchServe loses the micro-batch and waits until the request
times out), and ``handle`` refuses to run while a stage has no thread (parallelism 0). The
threads are daemons, so a handler that never calls :meth:`shutdown` cannot keep a process
alive.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

#: The stages, in pipeline order: the handler methods each one calls.
HANDLER_METHODS = ["preprocess", "inference", "postprocess"]

#: TorchServe's module flag (the profiler ships with every supported torch).
PROFILER_AVAILABLE = True

#: How often an idle thread checks whether it was asked to stop, in seconds.
_POLL_SECONDS = 0.1


class _Failed:
    """A micro-batch whose stage raised: later stages pass it on untouched."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _StageThread(threading.Thread):
    """One thread of a stage: takes ``(index, micro-batch)`` from *inbox*, calls *step*
    with the index recorded in *local*, puts ``(index, result)`` into *outbox*."""

    def __init__(
        self,
        step: Callable[[Any], Any],
        inbox: queue.Queue[tuple[int, Any]],
        outbox: queue.Queue[tuple[int, Any]],
        local: threading.local,
    ) -> None:
        super().__init__(daemon=True)
        self._step, self._inbox, self._outbox, self._local = step, inbox, outbox, local
        self.event = threading.Event()  # set: finish the current item, then stop

    def run(self) -> None:
        while not self.event.is_set():
            try:
                index, payload = self._inbox.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            self._local.micro_batch_idx = index
            if not isinstance(payload, _Failed):
                try:
                    payload = self._step(payload)
                except BaseException as exc:  # handed to handle(), which raises it
                    payload = _Failed(exc)
            self._outbox.put((index, payload))

    @property
    def thread(self) -> threading.Thread:
        """The thread itself (TorchServe keeps ``(event, thread)`` pairs)."""
        return self


class MicroBatching:
    """Runs ``preprocess``, ``inference`` and ``postprocess`` of *parent_handler* on
    micro-batches of *micro_batch_size* requests, *parallelism* threads per stage.

    *parallelism* maps stage names (:data:`HANDLER_METHODS`) to thread counts; stages it
    does not name get one thread. The dict is kept (not copied), as upstream.
    """

    def __init__(
        self,
        parent_handler: Any,
        micro_batch_size: int = 1,
        parallelism: dict[str, int] | None = None,
    ) -> None:
        self.handler = parent_handler
        self.micro_batch_size = micro_batch_size
        self._parallelism: dict[str, int] = {} if parallelism is None else parallelism
        self.thread_local_data = threading.local()
        self.terminate = threading.Event()
        # Stage i reads pipes[i] and writes pipes[i + 1].
        self._pipes: list[queue.Queue[tuple[int, Any]]] = [
            queue.Queue() for _ in range(len(HANDLER_METHODS) + 1)
        ]
        self.thread_groups: dict[str, list[_StageThread]] = {name: [] for name in HANDLER_METHODS}
        self._apply_parallelism()

    def __del__(self) -> None:
        if getattr(self, "thread_groups", None) is not None:
            self.shutdown()

    @property
    def queues(self) -> dict[str, queue.Queue[tuple[int, Any]]]:
        """``<stage>_in`` / ``<stage>_out`` queues (a stage's out is the next one's in)."""
        named = {}
        for position, stage in enumerate(HANDLER_METHODS):
            named[f"{stage}_in"] = self._pipes[position]
            named[f"{stage}_out"] = self._pipes[position + 1]
        return named

    @property
    def parallelism(self) -> dict[str, int]:
        """A copy of the per-stage thread counts that were set."""
        return dict(self._parallelism)

    @parallelism.setter
    def parallelism(self, parallelism: dict[str, int]) -> None:
        """Change the thread counts of the named stages (others keep theirs).

        An unknown stage name or a negative count raises ``AssertionError``, as upstream.
        """
        unknown = sorted(set(parallelism) - set(HANDLER_METHODS))
        if unknown:
            raise AssertionError(f"unknown micro-batching stages {unknown}: {HANDLER_METHODS}")
        self._parallelism.update(parallelism)
        self._apply_parallelism()

    def shutdown(self) -> None:
        """Stop every thread (each finishes the micro-batch it holds) and wait for them."""
        everyone = [worker for group in self.thread_groups.values() for worker in group]
        for worker in everyone:
            worker.event.set()
        for worker in everyone:
            worker.join()

    def _apply_parallelism(self) -> None:
        """Start or stop threads until each stage has its configured count."""
        for position, stage in enumerate(HANDLER_METHODS):
            wanted = self._parallelism.get(stage, 1)
            if wanted < 0:
                raise AssertionError(f"parallelism of {stage} must be >= 0, not {wanted}")
            group = self.thread_groups[stage]
            while len(group) < wanted:
                worker = _StageThread(
                    getattr(self.handler, stage),
                    self._pipes[position],
                    self._pipes[position + 1],
                    self.thread_local_data,
                )
                worker.start()
                group.append(worker)
            while len(group) > wanted:
                retired = group.pop()
                retired.event.set()
                retired.join()

    def handle(self, data: Any) -> list[Any]:
        """*data* through the pipeline, one micro-batch at a time; the outputs of every
        micro-batch's ``postprocess``, concatenated in request order."""
        idle = [stage for stage, group in self.thread_groups.items() if not group]
        if idle:
            raise RuntimeError(
                f"micro-batching stage(s) {idle} have no thread (parallelism 0): "
                "the batch would never be answered"
            )
        size = self.micro_batch_size
        starts = range(0, len(data), size)
        for index, start in enumerate(starts):
            self._pipes[0].put_nowait((index, data[start : start + size]))
        finished = dict(self._pipes[-1].get() for _ in starts)
        # Every micro-batch came back (the queues are empty again); now report a failure.
        for index in sorted(finished):
            if isinstance(finished[index], _Failed):
                raise finished[index].error
        return [item for index in sorted(finished) for item in finished[index]]

    def get_micro_batch_idx(self) -> int | None:
        """Index of the micro-batch the calling stage thread works on (None elsewhere)."""
        return getattr(self.thread_local_data, "micro_batch_idx", None)

    def __call__(self, data: Any, context: Any) -> Any:
        """The entry point TorchServe calls: as ``BaseHandler.handle`` (profiler, describe,
        explain; the ``HandlerTime`` metric), but predictions go through :meth:`handle`."""
        began = time.time()
        handler = self.handler
        handler.context = context
        sink = handler.context.metrics
        if os.environ.get("ENABLE_TORCH_PROFILER"):
            output, _ = handler._infer_with_profiler(data=data)
        elif handler._is_describe():
            output = [handler.describe_handle()]
        elif handler._is_explain():
            output = handler.explain_handle(handler.preprocess(data), data)
        else:
            output = self.handle(data)
        sink.add_time("HandlerTime", round((time.time() - began) * 1000, 2), None, "ms")
        return output
