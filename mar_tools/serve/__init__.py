"""``mar serve``: TorchServe 0.12's inference, management and metrics APIs, served by
``mar run``'s worker processes.

The library entry point is :func:`mar_tools.serve.server.serve` (or :class:`Server`): a
:class:`~mar_tools.serve.config.ServerConfig` (``config.properties`` and the start flags) and
a :class:`~mar_tools.core.reporter.Reporter` in, a server running until it is asked to stop.
The HTTP stack (aiohttp) is imported only when the server starts. See docs/serve.md.
"""
