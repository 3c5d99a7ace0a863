"""``ts.torch_handler.distributed.base_pippy_handler``: needs PiPPy, which mar-tools does not ship.

Importing it raises a ``ModuleNotFoundError`` that names the fix (see ``ts._unavailable``).
"""

from ..._unavailable import refuse

refuse(__name__, "PiPPy", "torchpippy", "pippy")
