"""``ts.torch_handler.request_envelope.base``: the envelope interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any


class BaseEnvelope(ABC):
    """Wraps ``handle_fn``: ``parse_input`` the batch, call it, ``format_output`` the results."""

    def __init__(self, handle_fn: Callable[[Any, Any], Any]) -> None:
        self._handle_fn = handle_fn
        self.context: Any = None

    def handle(self, data: Any, context: Any) -> Any:
        """The entry point TorchServe calls instead of the handler's: an empty batch is
        passed through unparsed, empty results are returned unformatted."""
        self.context = context
        rows = self.parse_input(data) if data else data
        answers = self._handle_fn(rows, context)
        return self.format_output(answers) if answers else answers

    @abstractmethod
    def parse_input(self, data: Any) -> Any:
        """Turn the batch of request rows into what the handler expects."""

    @abstractmethod
    def format_output(self, data: Any) -> Any:
        """Turn the handler's results into one response per request."""
