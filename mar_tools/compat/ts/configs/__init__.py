"""``ts.configs``: data files (``metrics.yaml``, the default metrics configuration)."""
