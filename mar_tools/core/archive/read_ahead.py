"""Run a producer of chunks on its own thread, a few chunks ahead of its consumer.

Inflating (isal, zlib) and reading (``pread``) release the GIL, so an entry's bytes can be
decoded on one core while the consumer (the CRC check, the pickle scanner's search for
local headers) works on the previous chunk on another. :func:`read_ahead` bounds how far
the producer runs ahead (``depth`` chunks), hands the producer's exception to the consumer
where it would have been raised, and stops the producer when the consumer stops early.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar, cast

T = TypeVar("T")

_POLL = 0.1
_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(source: Iterator[T], depth: int = 4) -> Iterator[T]:
    """The items of *source*, produced on a worker thread at most *depth* items ahead.

    The items must stay valid once produced (no reused buffers). What *source* raises is
    raised here, after the items produced before it. Closing this generator (or dropping
    it) stops the worker before its next item.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            put(_Failed(exc))
            return
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        put(_END)

    worker = threading.Thread(target=produce, name="mar-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(T, item)
    finally:
        stop.set()
        worker.join()
