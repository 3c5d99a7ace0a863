"""``ts.torch_handler.request_envelope``: TorchServe's ``service_envelope`` wrappers.

An envelope wraps the handler's entry point: it rewrites the batch before the handler sees
it and the handler's answers after. ``mar run --envelope NAME`` selects one, like
TorchServe's ``service_envelope`` setting.
"""
