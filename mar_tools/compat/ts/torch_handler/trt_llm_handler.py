"""``ts.torch_handler.trt_llm_handler``: needs TensorRT-LLM, which mar-tools does not ship.

Importing it raises a ``ModuleNotFoundError`` that names the fix (see ``ts._unavailable``).
"""

from .._unavailable import refuse

refuse(__name__, "TensorRT-LLM", "tensorrt-llm", "tensorrt_llm")
