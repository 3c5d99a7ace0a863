"""``ts.utils``: helpers shared by TorchServe handlers."""
