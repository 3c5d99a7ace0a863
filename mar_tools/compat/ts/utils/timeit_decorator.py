"""``ts.utils.timeit_decorator``: ``@timeit`` prints how long each call of a function took.

After every call it prints ``func: '<name>' took a total of <wall> sec to run and <cpu>
sec of CPU time`` (seconds, four decimals; under ``mar run`` the worker's stdout goes to the
log). TorchServe 0.12's version calls ``time.clock``, which Python 3.8 removed, so there
every decorated call fails with ``AttributeError``; this one measures with
``time.process_time`` instead and returns the function's result.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


def timeit(func: _F) -> _F:
    """Decorate *func* so that each call prints its wall-clock and CPU time."""

    @functools.wraps(func)
    def time_and_log(*args: Any, **kwargs: Any) -> Any:
        wall_start, cpu_start = time.time(), time.process_time()
        result = func(*args, **kwargs)
        wall, cpu = time.time() - wall_start, time.process_time() - cpu_start
        print(  # the decorator's documented output
            f"func: {func.__name__!r} took a total of {wall:2.4f} sec to run and "
            f"{cpu:2.4f} sec of CPU time\n"
        )
        return result

    return time_and_log  # type: ignore[return-value]
