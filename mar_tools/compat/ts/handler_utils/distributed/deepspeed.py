"""``ts.handler_utils.distributed.deepspeed``: needs DeepSpeed, which mar-tools does not ship.

Importing it raises a ``ModuleNotFoundError`` that names the fix (see ``ts._unavailable``).
"""

from ..._unavailable import refuse

refuse(__name__, "DeepSpeed", "deepspeed", "deepspeed")
