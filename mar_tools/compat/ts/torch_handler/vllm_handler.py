"""``ts.torch_handler.vllm_handler``: needs vLLM, which mar-tools does not ship.

Importing it raises a ``ModuleNotFoundError`` that names the fix (see ``ts._unavailable``).
"""

from .._unavailable import refuse

refuse(__name__, "vLLM", "vllm", "vllm")
