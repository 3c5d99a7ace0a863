"""``ts.torch_handler.distributed.base_deepspeed_handler``: base of DeepSpeed handlers.

Importing it needs no DeepSpeed (as in TorchServe): ``initialize`` only makes the worker's
``LOCAL_RANK`` (default 0) the device; subclasses load the model with
``ts.handler_utils.distributed.deepspeed``, which does need DeepSpeed.
"""

from __future__ import annotations

import os
from abc import ABC
from typing import Any

from ..base_handler import BaseHandler


class BaseDeepSpeedHandler(BaseHandler, ABC):
    """A :class:`BaseHandler` whose device is the local rank of a ``torchrun`` worker."""

    def initialize(self, ctx: Any) -> None:
        self.device = int(os.getenv("LOCAL_RANK", 0))
