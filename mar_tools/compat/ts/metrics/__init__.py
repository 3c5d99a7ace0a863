"""``ts.metrics``: the metrics API handlers reach through ``context.metrics``.

Unlike upstream's package ``__init__``, importing this one loads nothing else (upstream pulls
in psutil-based system metrics that the backend's handlers never need).
"""
