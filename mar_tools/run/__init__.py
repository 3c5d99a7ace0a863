"""``mar run``: run a model archive's handler exactly as TorchServe 0.12's backend would.

The library API is :func:`run_archive` with :class:`RunOptions`; it returns a
:class:`RunResult` whose responses are what TorchServe would send. This package never imports
torch: the handler runs in a worker process (``mar_tools.worker``) in the model's interpreter.
"""

from mar_tools.core.errors import DeviceUnavailable, LoadFailed, WorkerDied
from mar_tools.run.device import DeviceChoice
from mar_tools.run.inputs import InputSpec
from mar_tools.run.response import Response
from mar_tools.run.runner import ENVELOPES, RunOptions, RunResult, run_archive

__all__ = [
    "ENVELOPES",
    "DeviceChoice",
    "DeviceUnavailable",
    "InputSpec",
    "LoadFailed",
    "Response",
    "RunOptions",
    "RunResult",
    "WorkerDied",
    "run_archive",
]
