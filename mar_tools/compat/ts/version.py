"""The TorchServe version this package is compatible with (what ``ts.__version__`` reports).

Handlers and ``context.system_properties["server_version"]`` see this value, so it is the
upstream release whose backend behaviour is reproduced, not the mar-tools version.
"""

__version__ = "0.12.0"
