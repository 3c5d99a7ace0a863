"""``ts.handler_utils.hf_batch_streamer``: stream a batch of Hugging Face generations.

:class:`TextIteratorStreamerBatch` is the ``streamer`` of ``model.generate`` for a batch:
``put`` receives each step's token ids (one row per request) and gives row *i* to the
*i*-th ``transformers.TextIteratorStreamer``; iterating it yields, per step, one
``{"text": ...}`` per request, until any request's stream has ended. Like TorchServe's, it
needs ``transformers`` (importing this module without it raises ``ModuleNotFoundError``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from transformers.generation.streamers import BaseStreamer, TextIteratorStreamer

_ENDED = object()


def _next_or_ended(stream: Iterator[str]) -> Any:
    try:
        return next(stream)
    except StopIteration:
        return _ENDED


class TextIteratorStreamerBatch(BaseStreamer):  # type: ignore[misc]
    """*batch_size* ``TextIteratorStreamer`` objects sharing *tokenizer*, *skip_prompt*,
    *timeout* and the decode keyword arguments."""

    def __init__(
        self,
        tokenizer: Any,
        batch_size: int,
        skip_prompt: bool = False,
        timeout: float | None = None,
        **decode_kwargs: Any,
    ) -> None:
        self.streamers = [
            TextIteratorStreamer(tokenizer, skip_prompt, timeout, **decode_kwargs)
            for _ in range(batch_size)
        ]
        self.streamer_iterators = list(map(iter, self.streamers))
        self.batch_size = batch_size

    def put(self, value: Any) -> None:
        """Hand row *i* of *value* (shape ``[batch_size, ...]``) to streamer *i*."""
        if value.shape[0] != self.batch_size:
            raise ValueError(
                f"TextIteratorStreamerBatch batch size is set to {self.batch_size} "
                f"but got input tensor of shape {value.shape}"
            )
        for row, streamer in enumerate(self.streamers):
            streamer.put(value[row : row + 1])

    def end(self) -> None:
        """Flush every streamer and end its stream."""
        for streamer in self.streamers:
            streamer.end()

    def __iter__(self) -> TextIteratorStreamerBatch:
        return self

    def __next__(self) -> list[dict[str, Any]]:
        # Every stream is advanced, even once one has ended (as upstream).
        texts = [_next_or_ended(stream) for stream in self.streamer_iterators]
        if any(text is _ENDED for text in texts):
            raise StopIteration
        return [{"text": text} for text in texts]
