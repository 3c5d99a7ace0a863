"""``ts.handler_utils.timer``: the ``@timed`` decorator of handler methods.

With ``handler: {profile: true}`` in model-config.yaml, each call of a decorated method adds
a ``ts_handler_<method>`` time metric (CUDA events when CUDA is available, else wall time).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


def timed(func: _F) -> _F:
    """Decorate a handler method so that profiling, when configured, times it."""

    @functools.wraps(func)
    def wrap_func(self: Any, *args: Any, **kwargs: Any) -> Any:
        context = self.context
        if not (
            context
            and "handler" in context.model_yaml_config
            and "profile" in context.model_yaml_config["handler"]
            and context.model_yaml_config["handler"]["profile"]
        ):
            return func(self, *args, **kwargs)
        import torch  # the decorated methods belong to torch handlers: already imported

        if torch.cuda.is_available():
            cuda: Any = torch.cuda
            start_event = cuda.Event(enable_timing=True)
            end_event = cuda.Event(enable_timing=True)
            start_event.record()
            result = func(self, *args, **kwargs)
            end_event.record()
            torch.cuda.synchronize()
            duration = start_event.elapsed_time(end_event)
        else:
            start = time.time()
            result = func(self, *args, **kwargs)
            duration = (time.time() - start) * 1000
        context.metrics.add_time("ts_handler_" + func.__name__, duration)
        return result

    return wrap_func  # type: ignore[return-value]
