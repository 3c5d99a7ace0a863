"""``ts.torch_handler.dali_image_classifier``: needs NVIDIA DALI, which mar-tools does not ship.

Importing it raises a ``ModuleNotFoundError`` that names the fix (see ``ts._unavailable``).
"""

from .._unavailable import refuse

refuse(__name__, "NVIDIA DALI", "nvidia-dali-cuda120", "nvidia.dali")
